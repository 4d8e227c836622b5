"""Hand tasks to the broker after commit, never losing them when it is down.

A task that cannot be sent (the broker is unreachable) is kept in the outbox
(:mod:`monitio.outbox`) instead of failing the request; the request never sees the
error. Tasks are passed as task objects (``monitio_tasks.tasks``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction

from .outbox import keep
from .sending import BROKER_ERRORS, start


@contextlib.contextmanager
def enqueued(task: Task, args: list[Any]) -> Iterator[None]:
    """Enqueue ``task`` around a block, or keep it in the outbox.

    The task is sent on entry and the broker's answer awaited on exit (also when the
    block raises), so that with the kombu accelerator the block's work overlaps the
    broker's round trip.
    """
    try:
        wait = start(task, args)
    except BROKER_ERRORS as exc:
        wait = None
        keep(task, args, exc)
    try:
        yield
    finally:
        if wait is not None:
            try:
                wait()
            except BROKER_ERRORS as exc:
                keep(task, args, exc)


def enqueue(task: Task, args: list[Any]) -> None:
    """Send ``task``, or keep it in the outbox if the broker is unreachable."""
    with enqueued(task, args):
        pass


def enqueue_on_commit(task: Task, args: list[Any], using: str | None = None) -> None:
    """Enqueue ``task`` once the current transaction commits (now, in autocommit), as
    Celery's ``delay_on_commit`` does, with the outbox when the broker is down."""
    transaction.on_commit(partial(enqueue, task, args), using=using)
