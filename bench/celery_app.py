"""The Celery app of the benchmarks (the test project's, with bench settings)."""

import gc
import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

app = Celery("bench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["monitio_tasks"])


@worker_process_init.connect
@worker_ready.connect
def freeze_startup_heap(**kwargs) -> None:
    """As docs/performance.md recommends: full collections skip the loaded modules."""
    gc.freeze()


@app.task(name="bench.tick", ignore_result=True, acks_late=True)
def tick(key: str) -> None:
    """The pipeline benchmark's reference: a trivial task (counts its calls in Redis)."""
    from monitio import publish

    publish.get_client().incr(key)
