"""Store queued messages and announce them live: the work behind the deliver tasks.

Every step is idempotent, keyed by the message UUID the caller chose: a redelivered
task inserts nothing twice (the primary key), publishes each message once (a Redis
marker, see :func:`monitio.publish.publish_many`) and enqueues e-mail that
:mod:`monitio.emails` sends at most once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Count
from django.utils import timezone

from . import publish, signals, wire
from .conf import settings
from .exceptions import MonitioError
from .models import Message
from .serialize import message_dict


class RecipientMissing(MonitioError):
    """A message's recipient does not exist (any more); it cannot be delivered."""


def deliver(payloads: list[dict[str, Any]]) -> list[str]:
    """Store and publish ``payloads``; return the ids whose e-mail is still to send.

    Messages for users that do not exist are skipped, and :class:`RecipientMissing`
    is raised after the others are delivered, so the failure is visible without
    holding the rest back.
    """
    users = _users({p["user"] for p in payloads} | {p["from_user"] for p in payloads})
    rows = [_row(p, users) for p in payloads if str(p["user"]) in users]
    fresh, redelivered = _store(rows)
    if fresh:
        signals.messages_created.send(Message, messages=fresh)
    live = {p["id"] for p in payloads if p["sse"]}
    publish_rows([m for m in fresh if str(m.pk) in live])
    quiet = [m.pk for m in fresh if str(m.pk) not in live]
    if quiet:
        Message.objects.filter(pk__in=quiet).update(published_at=timezone.now())
    missing = [p["id"] for p in payloads if str(p["user"]) not in users]
    if missing:
        raise RecipientMissing(
            f"{len(missing)} message(s) not delivered: recipient does not exist "
            f"(message ids {', '.join(missing[:10])})."
        )
    if redelivered:  # the first attempt may have died before enqueueing the e-mail
        wanted = Message.objects.filter(
            pk__in=[r.pk for r in rows if r.email], email_status=Message.EmailStatus.PENDING
        )
        return [str(pk) for pk in wanted.values_list("pk", flat=True)]
    return [str(m.pk) for m in fresh if m.email]


def single_writer() -> bool:
    """Whether the database messages are written to takes one writer at a time (SQLite)."""
    return connections[router.db_for_write(Message)].vendor == "sqlite"


def _users(ids: set[Any]) -> dict[str, Any]:
    """The users among ``ids`` that exist, as unsaved stand-ins with pk and username
    (all an event needs), in one query."""
    model = get_user_model()
    field = model.USERNAME_FIELD
    found = model.objects.filter(pk__in=[i for i in ids if i is not None]).values_list("pk", field)
    return {str(pk): model(pk=pk, **{field: name}) for pk, name in found}


def _store(rows: list[Message]) -> tuple[list[Message], bool]:
    """Insert ``rows``; return those not yet announced, and whether this is a redelivery.

    The first delivery is one INSERT. A redelivery hits the primary key: then insert
    what is missing and reload what has not been announced yet.
    """
    try:
        with transaction.atomic():
            Message.objects.bulk_create(rows, batch_size=settings.BULK_BATCH_SIZE)
        return rows, False
    except IntegrityError:
        Message.objects.bulk_create(rows, ignore_conflicts=True, batch_size=settings.BULK_BATCH_SIZE)
        fresh = Message.objects.filter(pk__in=[r.pk for r in rows], published_at__isnull=True)
        return list(fresh.select_related("from_user")), True


def bulk_payloads(user_ids: list[Any], template: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """Yield per-recipient payloads in batches; ids derive from the batch UUID."""
    batch = uuid.UUID(template["id"])
    size = settings.BULK_BATCH_SIZE
    for start in range(0, len(user_ids), size):
        yield [
            {**template, "id": str(uuid.uuid5(batch, str(uid))), "user": uid}
            for uid in user_ids[start : start + size]
        ]


def publish_rows(rows: list[Message]) -> None:
    """Publish a ``message`` event per row (one pipeline) and mark them published."""
    if not rows:
        return
    counts = unread_counts({m.user_id for m in rows})
    publish.publish_many(
        ((m.user_id, wire.MESSAGE, message_dict(m, unread=counts.get(m.user_id, 0))) for m in rows),
        once_keys=(str(m.pk) for m in rows),
    )
    Message.objects.filter(pk__in=[m.pk for m in rows]).update(published_at=timezone.now())


def unread_counts(user_ids: set[Any]) -> dict[Any, int]:
    """Unread persistent counts for many users in one query."""
    rows = (
        Message.objects.filter(user_id__in=user_ids)
        .unexpired()
        .persistent()
        .unread()
        .values("user_id")
        .annotate(n=Count("pk"))
        .values_list("user_id", "n")
    )
    return dict(rows)


def publish_state(user_id: Any, event: str, ids: list[str] | None) -> str:
    """Publish a read/unread/deleted event with the user's current unread count."""
    count = next(iter(unread_counts({user_id}).values()), 0)
    return publish.publish(user_id, event, {"ids": ids, "unread": count})


def _row(payload: dict[str, Any], users: dict[str, Any]) -> Message:
    row = Message.from_payload(payload)
    sender = users.get(str(row.from_user_id)) if row.from_user_id is not None else None
    row.from_user = sender  # None when the sender was deleted meanwhile
    return row
