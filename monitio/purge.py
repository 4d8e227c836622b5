"""Delete expired messages (and, optionally, old read ones) in batches."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .models import Message


def purge(*, read_older_than_days: int | None = None, batch_size: int = 1000) -> int:
    """Delete expired messages, and read ones older than the given age; return the count.

    Works in batches of ``batch_size`` rows so a large purge never holds long locks.
    """
    now = timezone.now()
    doomed = Q(expires__lte=now)
    if read_older_than_days is not None:
        doomed |= Q(read=True, created__lt=now - timedelta(days=read_older_than_days))
    total = 0
    while True:
        ids = list(Message.objects.filter(doomed).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return total
        total += Message.objects.filter(pk__in=ids).delete()[0]
