"""The ``django.contrib.messages`` storage backend.

Anonymous users get exactly Django's :class:`FallbackStorage` (cookie, then
session). For an authenticated user, iterating ``messages`` yields:

1. their stored messages from the database, oldest first: unread persistent ones
   (read ones too when ``EXCLUDE_READ`` is off) and non-persistent ones sent to them
   by someone else, which are deleted once shown;
2. persistent messages this user's own requests queued that the worker has not
   written yet (:mod:`monitio.carry`: so the page after a redirect neither loses nor
   doubles them);
3. plain non-persistent messages, kept in the cookie/session exactly as Django does.

New monitio messages are not written here: :meth:`add` validates them, and once the
request's transaction commits they are handed to the broker in one batch, when the
response goes out.
"""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from functools import partial
from typing import Any

from django.contrib.messages.storage.base import Message as DjangoMessage
from django.contrib.messages.storage.fallback import FallbackStorage
from django.db import transaction
from django.db.models import Count, Q

from monitio_tasks.tasks import deliver

from . import constants, i18n, validation
from .carry import Carry
from .conf import settings
from .enqueue import enqueue, enqueued
from .exceptions import AnonymousRecipient
from .models import Message, level_tags
from .spec import MessageSpec


class PersistentMessageStorage(FallbackStorage):
    """Persistent, live messages for authenticated users; Django's storage otherwise."""

    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self._committed: list[dict[str, Any]] = []
        self._sent = False
        self._carry = Carry(request)

    # -- adding ---------------------------------------------------------------

    def add(self, level, message, extra_tags: str = "", **options) -> uuid.UUID | None:
        """Queue a message; return its UUID when monitio stores it, else ``None``.

        ``options`` are :func:`monitio.add_message`'s extras (``subject``, ``user``,
        ``from_user``, ``email``, ``sse``, ``expires``, ``close_timeout``, ``url``,
        ``kind``, ``group_key``, ``params``).
        """
        recipient = options.pop("user", None)
        recipient_id = _pk(recipient) if recipient is not None else _pk(self._user())
        if not message:
            return None
        if recipient_id is None:
            if constants.is_persistent(level):
                raise AnonymousRecipient(
                    "Persistent message levels cannot be used for anonymous users."
                )
            super().add(level, _now(message, options.get("params")), extra_tags)
            return None
        if int(level) < self.level:
            return None
        to_self = recipient_id == _pk(self._user())
        persistent = constants.is_persistent(level)
        if to_self and not persistent and not options.get("email"):
            super().add(level, _now(message, options.get("params")), extra_tags)
            return None
        message_id = uuid.uuid4()
        payload = MessageSpec(
            id=message_id,
            user_id=recipient_id,
            level=level,
            message=message,
            extra_tags=extra_tags,
            from_user_id=_pk(options.pop("from_user", None)),
            # A plain message to oneself is shown by Django's storage; the row
            # exists only for the e-mail, so it starts out read.
            read=to_self and not persistent,
            **options,
        ).to_payload()
        if to_self and persistent and not payload["group_key"]:
            # (A grouped message may merge into a row of another id: not carried.)
            self._carry.add(payload)
            self._queued_messages.append(_Carried(payload))
        elif to_self:
            super().add(level, _now(message, options.get("params")), extra_tags)
        transaction.on_commit(partial(self._committed_one, payload))
        return message_id

    def _committed_one(self, payload: dict[str, Any]) -> None:
        # Normally the response's update() sends the batch. A transaction that
        # outlives the response (one wrapping the whole request) commits later:
        # then send at once.
        if self._sent:
            enqueue(deliver, [[payload]])
        else:
            self._committed.append(payload)

    def update(self, response):
        """Send what this request queued and store what Django's storage must keep.

        The batch goes to the broker first; the storing overlaps its round trip.
        """
        self._sent = True
        batch, self._committed = self._committed, []
        with enqueued(deliver, [batch]) if batch else nullcontext():
            self._prepare_messages(self._queued_messages)
            unstored = None
            if self.used:
                self._consume_shown()
                unstored = self._store(self._queued_messages, response)
            elif self.added_new:
                plain = self._fallback_messages() + self._queued_messages
                unstored = self._store(plain, response)
            self._carry.save(response)
        return unstored

    # -- reading --------------------------------------------------------------

    def _get(self, *args, **kwargs):
        plain = self._fallback_messages()
        user = self._user()
        if user is None:
            return plain, True
        return self._with_carried(self._shown_rows(user)) + plain, True

    def _store(self, messages, response, *args, **kwargs):
        return super()._store(_plain(messages), response, *args, **kwargs)

    def _prepare_messages(self, messages):
        super()._prepare_messages(_plain(messages))

    def __iter__(self):
        self._materialize()
        return super().__iter__()

    def __contains__(self, item):
        self._materialize()
        return super().__contains__(item)

    def _materialize(self) -> None:
        """Turn this request's carried payloads into rows, and tag its plain messages
        at monitio's levels, once they are to be shown."""
        self._queued_messages = [_shown(m) for m in self._queued_messages]

    def _fallback_messages(self) -> list:
        if not hasattr(self, "_fallback_data"):
            self._fallback_data = [_shown(m) for m in super()._get()[0] or []]
        return list(self._fallback_data)

    def _shown_rows(self, user):
        persistent = Q(level__in=constants.PERSISTENT_MESSAGE_LEVELS)
        if settings.EXCLUDE_READ:
            persistent &= Q(read=False)
        other = ~Q(level__in=constants.PERSISTENT_MESSAGE_LEVELS) & Q(read=False)
        return (
            Message.objects.visible_to(user)
            .filter(persistent | other)
            .select_related("from_user")
            .order_by("created")
        )

    def _consume_shown(self) -> None:
        """Delete the non-persistent rows this request displayed (shown once)."""
        shown = [
            m.pk
            for m in self._loaded_messages
            if isinstance(m, Message) and not m._state.adding and not m.is_persistent()
        ]
        if shown:
            Message.objects.filter(pk__in=shown).delete()

    # -- the extra API of the original project --------------------------------

    def get_persistent(self) -> list[Message]:
        """Read and unread persistent messages, oldest first."""
        user = self._user()
        if user is None:
            return []
        return self._with_carried(
            Message.objects.visible_to(user).persistent().select_related("from_user")
        )

    def get_persistent_unread(self) -> list[Message]:
        """Unread persistent messages, oldest first."""
        user = self._user()
        if user is None:
            return []
        return self._with_carried(
            Message.objects.visible_to(user).persistent().unread().select_related("from_user")
        )

    def get_nonpersistent(self) -> list:
        """Non-persistent messages; like iterating, this shows (and so uses up) them."""
        self.used = True
        return [m for m in self if not (isinstance(m, Message) and m.is_persistent())]

    def count_unread(self) -> int:
        """Unread persistent and non-persistent messages."""
        persistent, other = self._counts()
        return persistent + other

    def count_persistent_unread(self) -> int:
        """Unread persistent messages."""
        return self._counts()[0]

    def count_nonpersistent(self) -> int:
        """Non-persistent messages waiting to be shown."""
        return self._counts()[1]

    def _counts(self) -> tuple[int, int]:
        """Both counts in one aggregate query, cached for the request."""
        if not hasattr(self, "_count_cache"):
            user = self._user()
            plain = len(self._fallback_messages()) + len(_plain(self._queued_messages))
            if user is None:
                self._count_cache = (0, plain)
            else:
                carried = [m.pk for m in self._carry.pending()]
                is_persistent = Q(level__in=constants.PERSISTENT_MESSAGE_LEVELS)
                # The carried messages are counted once: a row the worker wrote
                # since they were checked is left out of the query.
                rows = Message.objects.visible_to(user).unread()
                if carried:
                    rows = rows.exclude(pk__in=carried)
                counts = rows.aggregate(
                    p=Count("pk", filter=is_persistent), n=Count("pk", filter=~is_persistent)
                )
                self._count_cache = (counts["p"] + len(carried), counts["n"] + plain)
        persistent, other = self._count_cache
        return persistent + len(self._carry.new), other

    # -- the redirect race ----------------------------------------------------

    def _with_carried(self, rows) -> list[Message]:
        """The rows of ``rows`` and the carried messages not among them, oldest first.

        The carry is checked before ``rows`` is queried: a row the worker writes in
        between is then in ``rows`` (its carried copy is dropped), never missing from both.
        """
        carried = self._carry.pending()
        found = list(rows)
        ids = {m.pk for m in found}
        return _by_created(found + [m for m in carried if m.pk not in ids])

    def _user(self):
        user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None


class _Carried:
    """A message this request carries; made a :class:`Message` only if it is shown."""

    __slots__ = ("payload",)

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload


class _TaggedMessage(DjangoMessage):
    """A message Django's storage keeps at one of monitio's levels (``DEBUG`` is not
    persistent), tagged by :func:`monitio.models.level_tags`, not Django's dict."""

    @property
    def level_tag(self) -> str:
        return level_tags().get(self.level, "")


def _shown(message: Any) -> Any:
    """``message`` as it is shown: a carried payload becomes a row, a plain message at
    one of monitio's levels gets monitio's tag."""
    if isinstance(message, _Carried):
        return Message.from_payload(message.payload)
    if type(message) is DjangoMessage and message.level in constants.DEFAULT_TAGS:
        return _TaggedMessage(message.level, message.message, message.extra_tags)
    return message


def _now(message: Any, params: dict[str, Any] | None) -> Any:
    """A message Django's storage shows to this request's user: with ``params``,
    translated and interpolated now, in the request's language (checked as
    a :class:`~monitio.spec.MessageSpec` checks them)."""
    if params is None:
        return message
    text, _ = i18n.stored_texts(message, "", params)
    validation.check_params(params, text, "")
    return i18n.render(text, params)


def _plain(messages: list) -> list:
    """Django's own messages among ``messages`` (neither rows nor carried ones)."""
    return [m for m in messages if not isinstance(m, (Message, _Carried))]


def _pk(user: Any) -> Any:
    """A user's primary key; ``None`` for anonymous; ids pass through."""
    if user is None:
        return None
    if hasattr(user, "is_authenticated"):
        return user.pk if user.is_authenticated else None
    return user


def _by_created(messages: list[Message]) -> list[Message]:
    return sorted(messages, key=lambda m: m.created)
