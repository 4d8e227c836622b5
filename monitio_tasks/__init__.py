"""monitio's Celery tasks. Add ``beat_schedule`` to your Celery app's schedule and, on
a Redis broker, use ``redis_transport_options``::

    app.conf.beat_schedule = {**app.conf.beat_schedule, **monitio_tasks.beat_schedule}
    CELERY_BROKER_TRANSPORT_OPTIONS = {**monitio_tasks.redis_transport_options}  # settings
"""

#: Periodic tasks: drain the outbox every 10 s, publish stored messages no task
#: announced every 30 s, purge expired messages hourly, queue delayed e-mails every
#: 30 s and send the digests whose window ended every minute.
beat_schedule = {
    "monitio-drain-outbox": {"task": "monitio_tasks.drain_outbox", "schedule": 10.0},
    "monitio-publish-unpublished": {
        "task": "monitio_tasks.publish_unpublished", "schedule": 30.0,
    },
    "monitio-purge-expired": {"task": "monitio_tasks.purge_expired", "schedule": 3600.0},
    "monitio-send-due-emails": {"task": "monitio_tasks.send_due_emails", "schedule": 30.0},
    "monitio-send-digests": {"task": "monitio_tasks.send_digests", "schedule": 60.0},
}

#: kombu's Redis transport options for Celery's broker. On Redis, a task a worker has
#: taken stays in the broker's ``unacked`` set until the worker acknowledges it; when
#: the worker is killed, any worker puts it back once ``visibility_timeout`` has passed
#: (kombu's default is an hour), looking every ``unacked_restore_interval`` seconds
#: (times ``unacked_restore_throttle``: 1 makes the interval the period). So a killed
#: worker's tasks run again within about 50 s. Every countdown monitio uses
#: (``monitio_tasks.tasks.RETRY_BACKOFF_MAX``) stays below the timeout (check
#: ``monitio.W004``); a task that runs longer than it is handed out again, which
#: monitio's tasks tolerate (they are idempotent).
redis_transport_options = {
    "visibility_timeout": 45,
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
}
