"""Live grouping: a message with a ``group_key`` updates the user's unread message with
that key, if there is one, instead of adding a row.

Concurrent workers are kept apart by the database alone, with no lock in Python:

* the partial unique constraint ``monitio_one_unread_group`` allows one unread row per
  user and key;
* each grouped message is first folded into that row by one ``UPDATE … RETURNING``
  (count + 1, the latest text, the latest senders, the ids merged so far); only when
  nothing was updated is a row inserted, and an insert that hits the constraint
  (another worker inserted the group meanwhile) is retried as the update.

Redelivery counts once: the row keeps the ids of the last :data:`IDS_KEPT` messages
merged into it (its own id is the first message's), and the update skips a message
found there. Once the user reads the row, the next message with the key starts a new
group. The update's fields other than the count and the senders (text, subject,
sender, url, expiry, date) are the newest message's: a message older than the row's
date, stored late by another worker, leaves them as they are.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from . import partial_index, publish, wire
from .models import Message
from .serialize import message_dict

if TYPE_CHECKING:
    from .preferences import Choices

logger = logging.getLogger("monitio")

#: Ids of merged messages a group row remembers, against counting a redelivery twice.
IDS_KEPT = 200
#: A merged id's entry in ``group_ids``: a comma and the UUID's 36 characters.
_ID_ENTRY = 37
#: Characters of ``group_senders`` kept (newest first, one name per line).
SENDERS_KEPT = 1000
#: A sender's name is cut to this many characters in ``group_senders``.
SENDER_NAME_MAX = 150

#: Fields the newest message sets, each ``CASE WHEN created <= new THEN new ELSE old``.
_LATEST = ("message", "safe", "subject", "from_user", "url", "expires", "close_timeout")


def is_grouped(payload: dict[str, Any]) -> bool:
    """Whether ``payload`` joins a group (a message stored read opens none)."""
    return bool(payload.get("group_key")) and not payload["read"]


def store(
    payloads: list[dict[str, Any]], users: dict[str, Any], choices: Choices | None = None
) -> tuple[list[Message], list[tuple[Message, str]], list[str]]:
    """Fold each grouped payload into its group, or start the group.

    Return the rows inserted (or found unannounced, on a redelivery) to be announced
    as new messages, the ``(row, message id)`` of each merge to be announced as an
    update, and the ids of messages whose recipient does not exist. ``users`` maps the
    senders' ids (as str) to stand-ins with pk and username, as
    :func:`monitio.delivery.deliver` loads them; ``choices``, the recipients'
    preferences, decide a new group's e-mail (a merged message sends none).
    """
    started: list[Message] = []
    merged: list[tuple[Message, str]] = []
    missing: list[str] = []
    for payload in sorted(payloads, key=lambda p: p["created"]):
        row = merge(payload, users)
        if row is not None:
            merged.append((row, payload["id"]))
            continue
        new = Message.from_payload(payload)
        new.from_user = users.get(str(new.from_user_id)) if new.from_user_id is not None else None
        new.group_senders = _sender_entry(new.from_user)
        if choices is not None:
            choices.apply([new])
        try:
            with transaction.atomic():
                Message.objects.bulk_create([new])
            started.append(new)
            continue
        except IntegrityError as exc:  # the group was opened meanwhile, or a redelivery
            error = exc
        row = merge(payload, users)
        if row is not None:
            logger.info("Group %.100r of user %s was opened meanwhile: merged into it.",
                        payload["group_key"], payload["user"])
            merged.append((row, payload["id"]))
        elif not get_user_model().objects.filter(pk=payload["user"]).exists():
            missing.append(payload["id"])
        elif stored := list(Message.objects.filter(pk=new.pk).select_related("from_user")):
            started += [m for m in stored if m.published_at is None]  # its first message
        elif not Message.objects.filter(
            user_id=new.user_id, group_key=new.group_key, group_ids__contains=f",{new.pk}"
        ).exists():  # not merged before either: a sender deleted meanwhile; retry
            raise error
    return started, merged, missing


def merge(payload: dict[str, Any], users: dict[str, Any]) -> Message | None:
    """Fold ``payload`` into its user's unread row with its key, in one statement.

    Return the updated row, or ``None`` when there is no such row or the message is
    in it already.
    """
    connection = connections[router.db_for_write(Message)]
    if connection.vendor not in _SQL:
        _SQL[connection.vendor] = _merge_sql(connection)
    row = Message.from_payload(payload)
    sender = users.get(str(row.from_user_id)) if row.from_user_id is not None else None
    field = {f.name: f for f in Message._meta.concrete_fields}

    def prep(name: str, value: Any) -> Any:
        return field[name].get_db_prep_value(value, connection)

    created = prep("created", row.created)
    values = {name: getattr(row, name) for name in _LATEST if name != "from_user"}
    values["from_user"] = sender.pk if sender is not None else None
    latest = [p for name in _LATEST for p in (created, prep(name, values[name]))]
    params = [
        _ID_ENTRY * IDS_KEPT, f",{row.pk}",
        _sender_entry(sender), SENDERS_KEPT,
        *latest,
        created, created,
        prep("modified", timezone.now()),
        prep("user", row.user_id), payload["group_key"],
        prep("id", row.pk), f"%{row.pk}%",
    ]
    updated = list(
        Message.objects.db_manager(connection.alias).raw(_SQL[connection.vendor], params)
    )
    if not updated:
        return None
    group = updated[0]
    if group.from_user_id is not None:
        stand_in = users.get(str(group.from_user_id))
        if stand_in is not None:
            group.from_user = stand_in
    return group


def publish_updates(merged: list[tuple[Message, str]]) -> None:
    """Publish an ``update`` event per merge, in one pipeline.

    Keyed by the merged message's id, so a duplicated task never publishes it twice.
    No unread count: a merge leaves it unchanged.
    """
    now = timezone.now()
    live = [(m, i) for m, i in merged if m.expires is None or m.expires > now]
    publish.publish_many(
        ((m.user_id, wire.UPDATE, message_dict(m)) for m, _ in live),
        once_keys=(message_id for _, message_id in live),
    )


def _sender_entry(sender: Any) -> str:
    return f"{sender.get_username()[:SENDER_NAME_MAX]}\n" if sender is not None else ""


#: The merge statement, by database vendor.
_SQL: dict[str, str] = {}


#: The partial unique index of open groups (``Message.Meta.constraints``).
OPEN_GROUP_INDEX = "monitio_one_unread_group"


def _merge_sql(connection: BaseDatabaseWrapper) -> str:
    """``UPDATE … RETURNING`` (SQLite 3.35+, PostgreSQL): the merge, and the row it
    announces, in one statement. Every right-hand side reads the row as it was."""
    quote = connection.ops.quote_name
    col = {f.name: quote(f.column) for f in Message._meta.concrete_fields}
    ids, senders = col["group_ids"], col["group_senders"]
    latest = ", ".join(
        f"{col[name]} = CASE WHEN {col['created']} <= %s THEN %s ELSE {col[name]} END"
        for name in _LATEST
    )
    returning = ", ".join(col.values())
    # The WHERE repeats the condition of the unique index monitio_one_unread_group, so
    # that SQLite may use that partial index.
    open_group = partial_index.condition(connection, OPEN_GROUP_INDEX) or f"NOT {col['read']}"
    return (
        f"UPDATE {quote(Message._meta.db_table)} SET"
        f" {col['group_count']} = {col['group_count']} + 1,"
        f" {ids} = CASE WHEN LENGTH({ids}) >= %s THEN SUBSTR({ids}, {_ID_ENTRY + 1})"
        f" ELSE {ids} END || %s,"
        f" {senders} = SUBSTR(%s || {senders}, 1, %s),"
        f" {latest},"
        f" {col['created']} = CASE WHEN {col['created']} <= %s THEN %s ELSE {col['created']} END,"
        f" {col['modified']} = %s"
        f" WHERE {col['user']} = %s AND {col['group_key']} = %s AND {open_group}"
        f" AND {col['id']} <> %s AND {ids} NOT LIKE %s"
        f" RETURNING {returning}"
    )
