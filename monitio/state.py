"""Read, unread and delete a user's messages; every change is announced live.

Each function acts only on ``user``'s own rows, so a caller cannot touch another
user's messages by passing their ids. The live event (with the new unread count) is
published once the transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from monitio_tasks import tasks

from . import signals, wire
from .delivery import publish_state, unread_counts
from .enqueue import enqueue
from .models import Message

Ids = Sequence[UUID | str] | None


def unread_count(user) -> int:
    """Return how many unexpired persistent messages ``user`` has not read."""
    return unread_counts({user.pk}).get(user.pk, 0)


def _announce(user, event: str, ids: Ids) -> None:
    payload = None if ids is None else [str(i) for i in ids]
    transaction.on_commit(partial(_publish, user.pk, event, payload))


def _publish(user_id, event: str, ids: list[str] | None) -> None:
    """Publish from the request, right after commit, so that a user's changes reach
    their other tabs in the order they were made (two workers could swap them).
    If Redis is unreachable, a task publishes the event later."""
    from redis.exceptions import RedisError

    try:
        publish_state(user_id, event, ids)
    except (RedisError, OSError):
        enqueue(tasks.publish_state, [user_id, event, ids])


def _set_read(user, ids: Ids, read: bool) -> int:
    rows = Message.objects.for_user(user).filter(read=not read)
    if ids is not None:
        rows = rows.filter(id__in=list(ids))
    with transaction.atomic():
        changed = list(rows.values_list("id", flat=True))
        if changed:
            # A group marked unread again is closed for good (its key cleared): a
            # newer group with the key may be open, and only one may be.
            closed = {} if read else {"group_key": None}
            Message.objects.filter(id__in=changed).update(
                read=read, read_at=timezone.now() if read else None, modified=timezone.now(),
                **closed,
            )
            # The ids, even for "all": a message stored after this update must not
            # be marked read by clients that receive the event later.
            _announce(user, wire.READ if read else wire.UNREAD, changed)
    if changed:
        signals.messages_read.send(Message, user=user, ids=changed, read=read)
    return len(changed)


def mark_read(user, ids: Ids = None) -> int:
    """Mark ``user``'s messages ``ids`` (all when ``None``) read; return how many changed."""
    return _set_read(user, ids, True)


def mark_unread(user, ids: Ids) -> int:
    """Mark ``user``'s messages ``ids`` unread; return how many changed."""
    return _set_read(user, ids, False)


def mark_read_by_url(user, path: str) -> int:
    """Mark read the unread messages of ``user`` that point at ``path``."""
    ids = list(
        Message.objects.for_user(user).unread().filter(url=path).values_list("id", flat=True)
    )
    return mark_read(user, ids) if ids else 0


def delete(user, ids: Ids = None, *, only_read: bool = False) -> int:
    """Delete ``user``'s messages ``ids`` (all when ``None``), or only the read ones."""
    rows = Message.objects.for_user(user)
    if ids is not None:
        rows = rows.filter(id__in=list(ids))
    if only_read:
        rows = rows.filter(read=True)
    with transaction.atomic():
        gone = list(rows.values_list("id", flat=True))
        if gone:
            Message.objects.filter(id__in=gone).delete()
            _announce(user, wire.DELETED, gone)
    if gone:
        signals.messages_deleted.send(Message, user=user, ids=gone)
    return len(gone)
