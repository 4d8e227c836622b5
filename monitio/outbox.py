"""The outbox: tasks a request could not hand to the broker, sent once it is back.

A :class:`~monitio.models.PendingTask` row keeps the task's registered name and its
arguments; ``monitio_tasks.drain_outbox`` (run it from Celery beat, see
``beat_schedule``) or ``manage.py monitio_drain_outbox`` sends them.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, current_app
from django.db import transaction

from .models import PendingTask
from .sending import BROKER_ERRORS, send

logger = logging.getLogger("monitio")


def keep(task: Task, args: list[Any], exc: Exception) -> None:
    """Keep ``task`` with ``args`` for a later :func:`drain`; ``exc`` is why."""
    PendingTask.objects.create(task=task.name, args=args)
    logger.warning("Broker unreachable (%s); %s kept in the outbox.", exc, task.name)


def drain(limit: int = 500) -> int:
    """Send up to ``limit`` outbox tasks, oldest first; return how many were sent.

    Stops at the first broker error and leaves the rest for the next run. Rows are
    locked with ``SKIP LOCKED`` where the database supports it, so two drainers never
    send the same task (and the tasks are idempotent should one be sent twice).
    """
    sent = 0
    with transaction.atomic():
        rows = PendingTask.objects.select_for_update(skip_locked=True).order_by("created")
        for row in rows[:limit]:
            try:
                send(current_app.tasks[row.task], row.args)
            except BROKER_ERRORS as exc:
                PendingTask.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
                logger.warning("Outbox drain stopped: broker unreachable (%s).", exc)
                break
            row.delete()
            sent += 1
    return sent
