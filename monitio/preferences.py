"""Who receives what: each user's choices per kind and channel, over the kinds' defaults.

A channel is on for a user when the kind makes it mandatory, else when the user chose
so (a :class:`~monitio.models.Preference` row), else when the kind's default says so.
Only choices are stored, so changing a kind's default in code changes it for every
user who did not choose.

What a channel being off means in the worker:

* ``inbox`` off: the message is stored already read and is never published: no toast,
  no unread count, nothing in ``messages``; the inbox lists it among read messages.
  It is stored rather than dropped so that nothing is lost silently, its e-mail (if
  on) has a row to be sent from, and a message the sender's own page carries until
  its row exists (see :mod:`monitio.storage`) stops being carried.
* ``email`` off: the message is stored and published as usual; its e-mail is not
  sent, and its ``email_status`` says why (``optout``).

The worker decides a whole batch with one query (:func:`load`), and none when no
message of the batch could be switched off.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connections, router, transaction
from django.utils import timezone

from . import kinds
from .exceptions import InvalidPreference, PreferenceLocked, UnknownKind
from .kinds import EMAIL, INBOX, Kind
from .models import Message, Preference

logger = logging.getLogger("monitio")

#: A stored choice's key: (user id as str, kind key, channel).
Key = tuple[str, str, str]


def delivered_kind(key: str) -> Kind:
    """The kind of a message being delivered or e-mailed; an unregistered one (a web
    process that registers a kind this worker does not) is treated as the default kind."""
    try:
        return kinds.get_kind(key)
    except UnknownKind:
        logger.warning("Message kind %r is not registered in this worker; delivered as %r.",
                       key, kinds.DEFAULT_KIND)
        return kinds.default_kind()


class Choices:
    """The stored choices of some users for some kinds, and what they decide."""

    def __init__(self, choices: dict[Key, bool], kinds_by_key: dict[str, Kind]) -> None:
        self._choices = choices
        self._kinds = kinds_by_key

    def allows(self, user_id: Any, kind: str, channel: str) -> bool:
        """Whether ``channel`` is on for this user and kind."""
        definition = self._kinds.get(kind) or delivered_kind(kind)
        return _decide(definition, channel, self._choices.get((str(user_id), kind, channel)))

    def apply(self, rows: Iterable[Message]) -> set[str]:
        """Mark unsaved ``rows`` as the choices decide; return the ids not to publish."""
        muted: set[str] = set()
        now = timezone.now()
        for row in rows:
            if not self.allows(row.user_id, row.kind, INBOX):
                row.read, row.read_at = True, row.read_at or now
                muted.add(str(row.pk))
            if row.email and not self.allows(row.user_id, row.kind, EMAIL):
                row.email_status = Message.EmailStatus.OPTED_OUT
        return muted


def load(rows: Iterable[Message]) -> Choices:
    """The choices that decide ``rows`` (a delivered batch): one query, or none when
    none of them could be switched off (say, kind-less messages without e-mail)."""
    kinds_by_key: dict[str, Kind] = {}
    users: set[Any] = set()
    asked: set[str] = set()
    for row in rows:
        kind = kinds_by_key.get(row.kind) or kinds_by_key.setdefault(row.kind, delivered_kind(row.kind))
        channels = (INBOX, EMAIL) if row.email else (INBOX,)
        if any(kind.switchable(channel) for channel in channels):
            users.add(row.user_id)
            asked.add(row.kind)
    if not users:
        return Choices({}, kinds_by_key)
    return Choices(_stored_choices(users, asked), kinds_by_key)


def _stored_choices(users: set[Any], asked: set[str]) -> dict[Key, bool]:
    """The stored choices of ``users`` for the kinds ``asked``, in one query.

    The query runs once per delivered batch, so it is written as SQL, built once per
    shape from the model's documented ``_meta`` API: building and compiling the
    equivalent queryset cost the worker more than the query itself.
    """
    connection = connections[router.db_for_read(Preference)]
    user_field = Preference._meta.get_field("user")
    user_ids = [user_field.get_db_prep_value(u, connection) for u in users]
    key = (connection.vendor, len(user_ids), len(asked))
    if key not in _CHOICES_SQL:
        quote = connection.ops.quote_name
        column = {name: quote(Preference._meta.get_field(name).column)
                  for name in ("user", "kind", "channel", "enabled")}
        _CHOICES_SQL[key] = (
            f"SELECT {column['user']}, {column['kind']}, {column['channel']}, "
            f"{column['enabled']} FROM {quote(Preference._meta.db_table)}"
            f" WHERE {column['user']} IN ({', '.join(['%s'] * len(user_ids))})"
            f" AND {column['kind']} IN ({', '.join(['%s'] * len(asked))})"
        )
    with connection.cursor() as cursor:
        cursor.execute(_CHOICES_SQL[key], [*user_ids, *asked])
        return {(str(u), k, c): bool(on) for u, k, c, on in cursor.fetchall()}


#: The SQL of :func:`_stored_choices`, by database vendor and number of users and kinds.
_CHOICES_SQL: dict[tuple[str, int, int], str] = {}


def allows(user_id: Any, kind: str, channel: str) -> bool:
    """Whether ``channel`` is on for one user and kind (a query unless it is mandatory)."""
    definition = delivered_kind(kind)
    if not definition.switchable(channel):
        return True
    found = Preference.objects.filter(user_id=user_id, kind=kind, channel=channel)
    return _decide(definition, channel, found.values_list("enabled", flat=True).first())


def table(user: Any) -> list[dict[str, Any]]:
    """Every kind with, per channel, whether it is on for ``user``, its default and
    whether the user may change it (the preferences page and JSON endpoint show this)."""
    choices = _own_choices(user)
    return [
        {
            "kind": kind.key,
            "label": str(kind.label),
            "description": str(kind.description),
            "channels": {
                channel: {
                    "enabled": _decide(kind, channel, choices.get((kind.key, channel))),
                    "default": kind.default(channel),
                    "mandatory": not kind.switchable(channel),
                }
                for channel in kinds.CHANNELS
            },
        }
        for kind in kinds.all_kinds()
    ]


def change(user: Any, wanted: Mapping[tuple[str, str], bool]) -> int:
    """Set ``user``'s choices, ``{(kind, channel): enabled}``; return how many changed.

    Everything is checked before anything is written: an unknown kind or channel
    raises :class:`InvalidPreference`, a mandatory one :class:`PreferenceLocked`. A
    choice equal to what already applies writes nothing, so submitting the whole page
    stores only what the user changed.
    """
    asked: dict[str, Kind] = {}
    for (key, channel), enabled in wanted.items():
        if channel not in kinds.CHANNELS:
            raise InvalidPreference(
                f"Unknown channel {channel!r}; the channels are {', '.join(kinds.CHANNELS)}."
            )
        try:
            kind = asked[key] = kinds.get_kind(key)
        except UnknownKind as exc:
            raise InvalidPreference(str(exc)) from None
        if not isinstance(enabled, bool):
            raise InvalidPreference(f"enabled must be true or false, not {enabled!r}.")
        if not kind.switchable(channel):
            raise PreferenceLocked(f"{kind.key!r} messages cannot be turned off {channel}.")
    with transaction.atomic():
        current = _own_choices(user)
        changed = {
            (key, channel): enabled
            for (key, channel), enabled in wanted.items()
            if enabled != _decide(asked[key], channel, current.get((key, channel)))
        }
        Preference.objects.bulk_create(
            [Preference(user_id=user.pk, kind=k, channel=c, enabled=on) for (k, c), on in changed.items()],
            update_conflicts=True,
            unique_fields=["user", "kind", "channel"],
            update_fields=["enabled", "modified"],
        )
    return len(changed)


def _own_choices(user: Any) -> dict[tuple[str, str], bool]:
    rows = Preference.objects.filter(user_id=user.pk).values_list("kind", "channel", "enabled")
    return {(k, c): on for k, c, on in rows}


def _decide(kind: Kind, channel: str, choice: bool | None) -> bool:
    if not kind.switchable(channel):
        return True
    return kind.default(channel) if choice is None else choice
