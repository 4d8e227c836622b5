"""The example project's Celery app: configured from Django settings (``CELERY_*``),
JSON only, with monitio's periodic tasks (outbox drain, unpublished-row sweep, purge)
added to beat."""

import gc
import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

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


@worker_process_init.connect
@worker_ready.connect
def freeze_startup_heap(**kwargs) -> None:
    """Full garbage collections skip the loaded project: in each pool process once it
    is forked, in the main process once the worker is ready (docs/performance.md)."""
    gc.freeze()
