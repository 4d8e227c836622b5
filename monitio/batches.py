"""Send the messages a block of code creates as one task: ``with monitio.batch(): ...``.

Without a batch, every :func:`monitio.create_message` call sends a ``deliver`` task
of its own when its transaction commits, and each task costs the worker a broker
round trip or three, whatever it holds. In a batch, the messages wait for the block
to end and go as one task (or one per ``BULK_BATCH_SIZE`` messages), which the worker
stores with one INSERT and publishes with one Redis pipeline.

A batch changes how messages travel, never which ones do: each message still waits
for the transaction it was created in. One created in a savepoint that rolls back is
dropped (Django drops its ``on_commit`` callback), and the batch is sent once the
block ends and the transaction around it commits (at once in autocommit), also
when the block ends with an exception.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.db import transaction

from monitio_tasks.tasks import deliver

from .conf import settings
from .enqueue import enqueue, enqueue_on_commit

_open: ContextVar[list[dict[str, Any]] | None] = ContextVar("monitio_batch", default=None)


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Send the messages ``create_message`` creates in the block as one ``deliver`` task.

    A batch inside a batch joins the outer one.
    """
    if _open.get() is not None:
        yield
        return
    committed: list[dict[str, Any]] = []
    token = _open.set(committed)
    try:
        yield
    finally:
        _open.reset(token)
        # Registered after the callbacks of the block's messages, so it runs after them.
        transaction.on_commit(lambda: _send(committed))


def send_on_commit(payload: dict[str, Any]) -> None:
    """Have ``payload`` delivered once the current transaction commits: in the open
    batch's task if there is one, else in a task of its own."""
    committed = _open.get()
    if committed is None:
        enqueue_on_commit(deliver, [[payload]])
    else:
        transaction.on_commit(lambda: committed.append(payload))


def _send(payloads: list[dict[str, Any]]) -> None:
    size = settings.BULK_BATCH_SIZE
    for start in range(0, len(payloads), size):
        enqueue(deliver, [payloads[start : start + size]])
