"""Publish stored messages that no task announced: the safety net behind delivery.

A ``deliver`` task commits its rows, then publishes them. When that task is gone
after the commit (its worker died and the redelivery failed too, or its retries ran
out while Redis was down), the row is in the inbox but was never announced live.
``monitio_tasks.publish_unpublished`` (every 30 s from beat, see ``beat_schedule``)
publishes such rows once they are older than a redelivery normally takes.
Publishing is idempotent (the once-markers of :func:`monitio.publish.publish_many`),
so a row that a late redelivery announces meanwhile gets no second event.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from .delivery import publish_rows
from .models import Message

logger = logging.getLogger("monitio")

#: How long a row may wait for its own task: longer than a task reserved by a killed
#: worker takes to come back (the broker's visibility timeout, 45 s, plus the restore
#: interval), so the sweep only picks up what the task can no longer do. A row stored
#: with ``sse=False`` whose task died before marking it could otherwise be announced.
UNPUBLISHED_AFTER = timedelta(seconds=90)


def publish_unpublished(*, older_than: timedelta = UNPUBLISHED_AFTER, limit: int = 1000) -> int:
    """Publish up to ``limit`` unexpired, unpublished rows stored before ``older_than``
    ago (oldest first); return how many were announced.

    ``modified`` is the time the row was stored (updates that publish it do not touch
    it); a row the user has read meanwhile is marked published without an event: its
    reader has seen it, and the ``read`` event already reached their other pages.
    """
    stale = Message.objects.unexpired().filter(
        published_at__isnull=True, modified__lt=timezone.now() - older_than
    )
    rows = list(stale.filter(read=False).select_related("from_user").order_by("modified")[:limit])
    publish_rows(rows)
    seen = stale.filter(read=True).update(published_at=timezone.now())
    if rows or seen:
        logger.warning(
            "Published %d stored message(s) their task never announced (%d more were read "
            "already): a worker died or gave up after storing them.", len(rows), seen,
        )
    return len(rows)
