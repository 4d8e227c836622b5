"""monitio's Celery tasks. Add ``beat_schedule`` to your Celery app's schedule::

    app.conf.beat_schedule = {**app.conf.beat_schedule, **monitio_tasks.beat_schedule}
"""

#: Periodic tasks: drain the outbox every 10 s, purge expired messages hourly.
beat_schedule = {
    "monitio-drain-outbox": {"task": "monitio_tasks.drain_outbox", "schedule": 10.0},
    "monitio-purge-expired": {"task": "monitio_tasks.purge_expired", "schedule": 3600.0},
}
