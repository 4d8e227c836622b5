"""Store queued messages and announce them live: the work behind the deliver tasks.

Every step is idempotent, keyed by the message UUID the caller chose: a redelivered
task inserts nothing twice (the primary key), publishes each message once (a Redis
marker, see :func:`monitio.publish.publish_many`) and enqueues e-mail that
:mod:`monitio.emails` sends at most once.

One message that cannot be delivered never holds back the others of its batch: they
are delivered, and then :class:`Undelivered` names what was not.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone, translation

from . import (
    clock,
    constants,
    email_delivery,
    grouping,
    i18n,
    kinds,
    partial_index,
    preferences,
    publish,
    signals,
    wire,
)
from .conf import settings
from .exceptions import InvalidMessage, MonitioError
from .models import Message
from .payloads import check_payload
from .serialize import message_dict

logger = logging.getLogger("monitio")


class Undelivered(MonitioError):
    """Some messages of a batch were not delivered; the others were.

    ``emails`` holds the ids of the delivered ones whose e-mail is still to send.
    Permanent: a task that raises it is not retried.
    """

    def __init__(self, text: str, emails: Iterable[str] = ()) -> None:
        super().__init__(text)
        self.emails = list(emails)


class RecipientMissing(Undelivered):
    """A message's recipient does not exist (any more); it cannot be delivered."""


class MessageRejected(Undelivered):
    """A message breaks the rules the caller enforces (:mod:`monitio.payloads`), so
    it cannot be stored: it was logged and counted (:func:`reject`) and dropped."""


def deliver(payloads: list[dict[str, Any]]) -> list[str]:
    """Store and publish ``payloads``; return the ids whose e-mail is still to send.

    Messages that break the caller's rules are rejected (:func:`reject`), and messages
    for users that do not exist are skipped; then :class:`MessageRejected` or
    :class:`RecipientMissing` is raised after the others are delivered, so the failure
    is visible without holding the rest back. Recipients are not looked up
    beforehand: the foreign key refuses a missing one, and only then are they looked
    up. The recipients' preferences are read once for the batch (see
    :mod:`monitio.preferences`). Messages with a ``group_key`` are folded into their
    group first (:mod:`.grouping`), unless their kind is off in-app for the user: those
    are stored as read, like any muted message, and join no group.
    """
    payloads, rejected = _screen(payloads)
    if not payloads:
        _raise_undelivered(rejected, [], [])
        return []
    senders = _users({p["from_user"] for p in payloads})
    rows = [_row(p, senders) for p in payloads]
    choices = preferences.load(rows)
    grouped = [
        p for p, row in zip(payloads, rows)
        if grouping.is_grouped(p) and choices.allows(row.user_id, row.kind, kinds.INBOX)
    ]
    if grouped:
        ids = {p["id"] for p in grouped}
        payloads = [p for p in payloads if p["id"] not in ids]
        rows = [row for row in rows if str(row.pk) not in ids]
        started, merged, gone = grouping.store(grouped, senders, choices)
    muted = choices.apply(rows)
    plan = email_delivery.load(rows)
    plan.apply(rows, clock.now())
    missing: list[str] = []
    try:
        fresh, redelivered = _store(rows)
    except IntegrityError:  # a recipient (or a sender, meanwhile) was deleted
        users = _users({p["user"] for p in payloads} | {p["from_user"] for p in payloads})
        rows = [_row(p, users) for p in payloads if str(p["user"]) in users]
        missing = [p["id"] for p in payloads if str(p["user"]) not in users]
        choices.apply(rows)
        plan.apply(rows, clock.now())
        fresh, redelivered = _store(rows)
    if grouped:
        missing += gone
        fresh = fresh + started
        payloads += grouped
    if fresh:
        signals.messages_created.send(Message, messages=fresh)
    live = {p["id"] for p in payloads if p["sse"]} - muted
    publish_rows([m for m in fresh if str(m.pk) in live])
    if grouped:
        grouping.publish_updates([(m, i) for m, i in merged if i in live])
    quiet = [m.pk for m in fresh if str(m.pk) not in live]
    if quiet:
        Message.objects.filter(pk__in=quiet).update(published_at=timezone.now())
    if redelivered:  # the first attempt may have died before enqueueing the e-mail
        wanted = Message.objects.filter(
            pk__in=[r.pk for r in rows if r.email], email_status=Message.EmailStatus.PENDING,
            email_due_at__isnull=True,
        )
        emails = [str(pk) for pk in wanted.values_list("pk", flat=True)]
    else:
        pending = Message.EmailStatus.PENDING
        emails = [
            str(m.pk) for m in fresh
            if m.email_status == pending and m.email_due_at is None
        ]
    if grouped:  # a merged message sends no e-mail: its group's first one did
        pending_now = [m for m in started
                       if m.email_status == Message.EmailStatus.PENDING and m.email_due_at is None]
        emails += [str(m.pk) for m in pending_now if str(m.pk) not in emails]
    _raise_undelivered(rejected, missing, emails)
    return emails


def reject(message_id: str, user_id: Any, reason: str) -> None:
    """Log at ERROR, and count, a message the worker cannot store.

    The count is the Redis hash ``<KEY_PREFIX>:rejected`` (message id to reason), so
    a redelivered task counts a message once: ``HLEN`` is the number of messages
    dropped, ``HGETALL`` says which and why.
    """
    logger.error("Message %s for user %.100r rejected, not stored: %s", message_id, user_id, reason)
    publish.count_rejected(message_id, reason)


def _screen(payloads: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Split ``payloads`` into those the worker can store and the ids of the rest,
    which are rejected."""
    good, rejected = [], []
    for payload in payloads:
        try:
            check_payload(payload)
        except InvalidMessage as exc:
            message_id = str(payload.get("id")) if isinstance(payload, dict) else "?"
            user_id = payload.get("user") if isinstance(payload, dict) else None
            reject(message_id, user_id, str(exc))
            rejected.append(message_id)
        else:
            good.append(payload)
    return good, rejected


def _raise_undelivered(rejected: list[str], missing: list[str], emails: list[str]) -> None:
    problems = []
    if rejected:
        problems.append(
            f"{len(rejected)} message(s) rejected: invalid payload "
            f"(message ids {', '.join(rejected[:10])})."
        )
    if missing:
        problems.append(
            f"{len(missing)} message(s) not delivered: recipient does not exist "
            f"(message ids {', '.join(missing[:10])})."
        )
    if problems:
        kind = MessageRejected if rejected else RecipientMissing
        raise kind(" ".join(problems), emails)


def single_writer() -> bool:
    """Whether the database messages are written to takes one writer at a time (SQLite)."""
    return connections[router.db_for_write(Message)].vendor == "sqlite"


def _users(ids: set[Any]) -> dict[str, Any]:
    """The users among ``ids`` that exist, as unsaved stand-ins with pk and username
    (all an event needs), in one query."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    model = get_user_model()
    field = model.USERNAME_FIELD
    found = model.objects.filter(pk__in=ids).values_list("pk", field)
    return {str(pk): model(pk=pk, **{field: name}) for pk, name in found}


def _store(rows: list[Message]) -> tuple[list[Message], bool]:
    """Insert ``rows``; return those not yet announced, and whether this is a redelivery.

    The first delivery is one INSERT. A redelivery hits the primary key: then insert
    what is missing and reload what has not been announced yet.
    """
    if not rows:  # a batch of grouped messages only (see monitio.grouping)
        return [], False
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
    """Publish a ``message`` event per row (one pipeline) and mark them published.

    A row already expired is marked but not published: it is never listed, so it
    must not pop up live either.
    """
    if not rows:
        return
    now = timezone.now()
    live = [m for m in rows if m.expires is None or m.expires > now]
    counts = unread_counts({m.user_id for m in live})
    languages = i18n.user_languages({m.user_id for m in live if m.params is not None})
    publish.publish_many(
        (
            (m.user_id, wire.MESSAGE, _event_data(m, counts.get(m.user_id, 0), languages.get(m.user_id)))
            for m in live
        ),
        once_keys=(str(m.pk) for m in live),
    )
    Message.objects.filter(pk__in=[m.pk for m in rows]).update(published_at=timezone.now())


def _event_data(message: Message, unread: int, language: str | None) -> dict[str, Any]:
    """A ``message`` event's data; a translatable message in the recipient's ``language``."""
    if language is None:
        return message_dict(message, unread=unread)
    with translation.override(language):
        return message_dict(message, unread=unread)


def unread_counts(user_ids: set[Any]) -> dict[Any, int]:
    """Unread persistent counts for many users in one query (users with none are absent).

    The query runs once per delivered batch, so it is written as SQL: building and
    compiling the equivalent queryset (``Message.objects.filter(user_id__in=...)
    .unexpired().persistent().unread()``, grouped by user) cost ten times the query.
    The partial index ``monitio_unread_count`` answers it without reading the table.
    """
    if not user_ids:
        return {}
    connection = connections[router.db_for_read(Message)]
    user_field = Message._meta.get_field("user")
    ids = {user_field.get_db_prep_value(uid, connection): uid for uid in user_ids}
    now = Message._meta.get_field("expires").get_db_prep_value(timezone.now(), connection)
    levels = constants.PERSISTENT_MESSAGE_LEVELS
    key = (connection.vendor, len(ids), len(levels))
    if key not in _UNREAD_COUNTS_SQL:
        _UNREAD_COUNTS_SQL[key] = _unread_counts_sql(connection, *key[1:])
    with connection.cursor() as cursor:
        cursor.execute(_UNREAD_COUNTS_SQL[key], [*ids, *levels, now])
        return {ids.get(uid, uid): n for uid, n in cursor.fetchall()}


#: The SQL of :func:`unread_counts`, by database vendor and number of users and levels.
_UNREAD_COUNTS_SQL: dict[tuple[str, int, int], str] = {}


def _unread_counts_sql(connection: BaseDatabaseWrapper, users: int, levels: int) -> str:
    quote = connection.ops.quote_name
    column = {f.name: quote(f.column) for f in Message._meta.concrete_fields}
    unread = partial_index.condition(connection, UNREAD_INDEX) or f"NOT {column['read']}"
    return (
        f"SELECT {column['user']}, COUNT(*) FROM {quote(Message._meta.db_table)}"
        f" WHERE {column['user']} IN ({_placeholders(users)}) AND {unread}"
        f" AND {column['level']} IN ({_placeholders(levels)})"
        f" AND ({column['expires']} IS NULL OR {column['expires']} > %s)"
        f" GROUP BY {column['user']}"
    )


#: The partial index that answers :func:`unread_counts` (``Message.Meta.indexes``).
UNREAD_INDEX = "monitio_unread_count"


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def publish_state(user_id: Any, event: str, ids: list[str] | None) -> str:
    """Publish a read/unread/deleted event with the user's current unread count."""
    count = next(iter(unread_counts({user_id}).values()), 0)
    return publish.publish(user_id, event, {"ids": ids, "unread": count})


def _row(payload: dict[str, Any], users: dict[str, Any]) -> Message:
    row = Message.from_payload(payload)
    sender = users.get(str(row.from_user_id)) if row.from_user_id is not None else None
    row.from_user = sender  # None when the sender was deleted meanwhile
    return row
