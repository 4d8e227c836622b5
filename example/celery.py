"""The example project's Celery app: configured from Django settings (``CELERY_*``),
JSON only, with monitio's periodic tasks (outbox drain, purge) added to beat."""

import os

from celery import Celery

import monitio_tasks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings.dev")

app = Celery("example")
app.config_from_object("django.conf:settings", namespace="CELERY")
# The project's own apps (example.demo.tasks), and monitio's tasks package, which
# is not a Django app.
app.autodiscover_tasks()
app.autodiscover_tasks(["monitio_tasks"])


@app.on_after_configure.connect
def add_monitio_schedule(sender: Celery, **kwargs) -> None:
    """Merge monitio's periodic tasks into the schedule the settings define."""
    sender.conf.beat_schedule = {
        **monitio_tasks.beat_schedule,
        **(sender.conf.beat_schedule or {}),
    }
