"""Hand one task to the broker: Celery's ``apply_async``, or the kombu accelerator.

Both fail fast (one retry) with one of :data:`BROKER_ERRORS` when the broker is
unreachable, so that the caller can keep the task in the outbox instead: a view
must not hang. The task's repr in the broker and worker logs names the task only:
message text stays out of logs (and repr-ing a large batch would cost the request
time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Task
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from ._compat import kombu as kombu_accelerator

#: Try the broker briefly, then fall back to the outbox: a view must not hang.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
BROKER_ERRORS = (OperationalError, RedisError, OSError)


def send(task: Task, args: list[Any]) -> None:
    """Send ``task`` with ``args`` now; raise one of :data:`BROKER_ERRORS` if the
    broker is down."""
    start(task, args)()


def start(task: Task, args: list[Any]) -> Callable[[], None]:
    """Start sending ``task``; the callable returned waits for the broker's answer
    (``apply_async`` has it already; the kombu accelerator lets the caller overlap
    the round trip). Both raise one of :data:`BROKER_ERRORS` when the broker is down.
    """
    wait = kombu_accelerator.start(task, args)
    if wait is not None:
        return wait
    task.apply_async(
        args=args, retry=True, retry_policy=RETRY_POLICY, argsrepr="(...)", kwargsrepr="{}"
    )
    return _sent


def _sent() -> None:
    """The broker's answer, already received."""
