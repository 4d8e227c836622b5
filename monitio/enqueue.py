"""Hand tasks to the broker after commit, never losing them when it is down.

A task that cannot be sent (the broker is unreachable) is written to the
:class:`~monitio.models.PendingTask` outbox instead of failing the request;
``monitio_tasks.drain_outbox`` (run it from Celery beat, see ``beat_schedule``)
sends it once the broker is back. The request never sees the error.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger("monitio")

#: Try the broker briefly, then fall back to the outbox: a view must not hang.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
BROKER_ERRORS = (OperationalError, RedisError, OSError)


def _task(name: str):
    from monitio_tasks import tasks

    return getattr(tasks, name.rpartition(".")[2])


def send(name: str, args: list[Any]) -> None:
    """Send task ``name`` now; raise one of :data:`BROKER_ERRORS` if the broker is down.

    The task's repr in the broker and worker logs names the task only: message text
    stays out of logs (and repr-ing a large batch would cost the request time).
    """
    _task(name).apply_async(
        args=args, retry=True, retry_policy=RETRY_POLICY, argsrepr="(...)", kwargsrepr="{}"
    )


def enqueue(name: str, args: list[Any]) -> None:
    """Send task ``name``, or keep it in the outbox if the broker is unreachable."""
    try:
        send(name, args)
    except BROKER_ERRORS as exc:
        from .models import PendingTask

        PendingTask.objects.create(task=name, args=args)
        logger.warning("Broker unreachable (%s); %s kept in the outbox.", exc, name)


def enqueue_on_commit(name: str, args: list[Any], using: str | None = None) -> None:
    """Enqueue task ``name`` once the current transaction commits (now, in autocommit)."""
    transaction.on_commit(partial(enqueue, name, args), using=using)


def drain_outbox(limit: int = 500) -> int:
    """Send up to ``limit`` outbox tasks, oldest first; return how many were sent.

    Stops at the first broker error and leaves the rest for the next run. Rows are
    locked with ``SKIP LOCKED`` where the database supports it, so two drainers never
    send the same task (and the tasks are idempotent should one be sent twice).
    """
    from .models import PendingTask

    sent = 0
    with transaction.atomic():
        rows = PendingTask.objects.select_for_update(skip_locked=True).order_by("created")
        for row in rows[:limit]:
            try:
                send(row.task, row.args)
            except BROKER_ERRORS as exc:
                PendingTask.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
                logger.warning("Outbox drain stopped: broker unreachable (%s).", exc)
                break
            row.delete()
            sent += 1
    return sent
