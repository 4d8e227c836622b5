"""The ``django.contrib.messages`` storage backend, on Django's contract for one:
it implements ``_get`` and ``_store`` and adds monitio's own public methods.

Anonymous users get exactly Django's :class:`FallbackStorage` (cookie, then
session). For an authenticated user, iterating ``messages`` yields:

1. their stored messages from the database, oldest first: unread persistent ones
   (read ones too when ``EXCLUDE_READ`` is off) and non-persistent ones sent to them
   by someone else, which are deleted once shown;
2. persistent messages this user's own requests queued that the worker has not
   written yet (:mod:`monitio.carry`: so the page after a redirect neither loses nor
   doubles them);
3. plain non-persistent messages, kept in the cookie/session exactly as Django does.

New monitio messages are not written here. :func:`monitio.add_message` checks one
(:class:`~monitio.spec.MessageSpec`) and hands it to :meth:`PersistentMessageStorage.send`;
a message for the request's own user is also queued for display with Django's
``add``. Once the request's transaction commits, the messages are handed to the
broker in one batch from ``_store``, when the response goes out. A message at a
persistent level added with Django's own ``messages.add_message`` is persisted
there too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import nullcontext
from functools import cached_property, partial
from typing import Any

from django.contrib.messages.storage.base import Message as DjangoMessage
from django.contrib.messages.storage.fallback import FallbackStorage
from django.db import transaction
from django.db.models import Count, Q

from monitio_tasks.tasks import deliver

from . import constants, i18n, validation
from .batches import send_on_commit
from .carry import Carry
from .conf import settings
from .enqueue import enqueue, enqueued
from .exceptions import AnonymousRecipient
from .models import Message, level_tags
from .spec import MessageSpec


class PersistentMessageStorage(FallbackStorage):
    """Persistent, live messages for authenticated users; Django's storage otherwise."""

    # -- adding (called by monitio.add_message) ------------------------------------

    def send(self, spec: MessageSpec) -> uuid.UUID:
        """Deliver ``spec`` once the transaction commits; show it too when it is for
        this request's user (a persistent one on later pages as well, until its row
        exists: :mod:`monitio.carry`)."""
        payload = spec.to_payload()
        to_self = str(spec.user_id) == str(getattr(self._user(), "pk", None))
        if not to_self:
            send_on_commit(payload)
            return spec.id
        text = _now(spec.message, spec.params)
        if constants.is_persistent(spec.level):
            # A grouped message may merge into a row of another id: not carried,
            # shown by Django's storage (so not persisted again from _store).
            carried = not spec.group_key
            if carried:
                self._monitio.carry.add(payload)
            text = _Queued(text, payload, carried=carried)
        else:
            self._monitio.plain_added += 1
        self.add(spec.level, text, spec.extra_tags)
        transaction.on_commit(partial(self._committed, payload))
        return spec.id

    def show(self, level: int, message: Any, extra_tags: str, params: dict[str, Any] | None) -> None:
        """Show a plain message to this request's user with Django's storage only;
        with ``params``, translated and interpolated now, in the request's language."""
        self._monitio.plain_added += 1
        self.add(level, _now(message, params), extra_tags)

    def _committed(self, payload: dict[str, Any]) -> None:
        # Normally _store, when the response goes out, sends the batch. A transaction
        # that outlives the response (one wrapping the whole request) commits later:
        # then send at once.
        state = self._monitio
        if state.sent:
            enqueue(deliver, [[payload]])
        else:
            state.batch.append(payload)

    # -- Django's contract -----------------------------------------------------------

    def _get(self, *args, **kwargs):
        plain, all_retrieved = super()._get(*args, **kwargs)
        return _Shown(self, [_tagged(m) for m in plain or []], self._rows), all_retrieved

    def _rows(self) -> list[Message]:
        """The user's rows and carried messages to show, queried when first needed."""
        user = self._user()
        rows = self._with_carried(self._shown_rows(user)) if user is not None else []
        self._monitio.loaded = rows
        return rows

    def _store(self, messages, response, *args, **kwargs):
        """Send this request's batch; keep plain messages as Django does; delete the
        non-persistent rows this request showed.

        The batch goes to the broker first; the storing overlaps its round trip.
        """
        state = self._monitio
        plain = [m for m in map(self._persisted, messages) if not isinstance(m, Message)]
        state.sent = True
        batch, state.batch = state.batch, []
        with enqueued(deliver, [batch]) if batch else nullcontext():
            kept = {id(m) for m in messages}
            shown = [
                m.pk for m in state.loaded
                if id(m) not in kept and not m._state.adding and not m.is_persistent()
            ]
            if shown:
                Message.objects.filter(pk__in=shown).delete()
            state.loaded = []
            unstored = super()._store(plain, response, *args, **kwargs)
            state.carry.save(response)
        return unstored

    def _persisted(self, message: Any) -> Any:
        """``message`` as it is shown: a persistent one a row (persisted first when
        Django's own ``add_message`` queued it), a plain one tagged by monitio."""
        if type(message) is not DjangoMessage:
            return message  # a row, or a message _get made what is shown
        text = message.message
        if isinstance(text, _Queued):
            return Message.from_payload(text.payload) if text.carried else _tagged(message)
        if not constants.is_persistent(message.level):
            return _tagged(message)
        user = self._user()
        if user is None:
            # Django's add has no hook to refuse it in the caller, as monitio.add_message does.
            raise AnonymousRecipient(
                f"Persistent message level {message.level} cannot be used for an anonymous "
                "user (added with django.contrib.messages; monitio.add_message(..., "
                "fail_silently=True) drops it instead)."
            )
        payload = MessageSpec(
            user_id=user.pk, level=message.level, message=text,
            extra_tags=message.extra_tags or "",
        ).to_payload()
        self._monitio.carry.add(payload)
        transaction.on_commit(partial(self._committed, payload))
        message.message = _Queued(str(text), payload, carried=True)  # persisted once
        return Message.from_payload(payload)

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

    @cached_property
    def _monitio(self) -> _RequestState:
        return _RequestState(Carry(self.request))

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
            # Django's storage holds the plain messages of earlier requests; this
            # request's are those monitio.add_message queued (see show()).
            plain = len(super()._get()[0] or []) + self._monitio.plain_added
            if user is None:
                self._count_cache = (0, plain)
            else:
                carried = [m.pk for m in self._monitio.carry.pending()]
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
        return persistent + len(self._monitio.carry.new), other

    # -- the redirect race ----------------------------------------------------

    def _with_carried(self, rows) -> list[Message]:
        """The rows of ``rows`` and the carried messages not among them, oldest first.

        The carry is checked before ``rows`` is queried: a row the worker writes in
        between is then in ``rows`` (its carried copy is dropped), never missing from both.
        """
        carried = self._monitio.carry.pending()
        found = list(rows)
        ids = {m.pk for m in found}
        return _by_created(found + [m for m in carried if m.pk not in ids])

    def _user(self):
        user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None


class _RequestState:
    """What the storage keeps for its request, beside Django's own state."""

    def __init__(self, carry: Carry) -> None:
        self.carry = carry
        #: Payloads whose transaction committed, for the response's batch.
        self.batch: list[dict[str, Any]] = []
        #: Whether the batch went (a later commit sends its payload at once).
        self.sent = False
        #: The rows ``_get`` returned: those ``_store`` is not given were shown.
        self.loaded: list[Message] = []
        #: Plain messages monitio.add_message queued (for the counts).
        self.plain_added = 0


class _Queued(str):
    """The text of a message this request queued for display: carries its payload,
    so that it is shown as its row and kept in the carry, not in Django's storage.
    ``str()`` (Django's ``Message._prepare``) keeps it as it is."""

    payload: dict[str, Any]
    #: Whether the carry holds it (else Django's storage shows it as a plain message).
    carried: bool

    def __new__(cls, text: str, payload: dict[str, Any], *, carried: bool):
        queued = super().__new__(cls, text)
        queued.payload, queued.carried = payload, carried
        return queued

    def __str__(self) -> str:
        return self


class _Shown(list):
    """The messages ``_get`` returns: Django's storage's, then (first) the user's rows,
    queried when the list is first read.

    Django's storage extends this list with the messages queued in the request when
    they are shown: each becomes what is shown (:meth:`PersistentMessageStorage._persisted`),
    so a persistent one is a row and a plain one at a monitio level has monitio's tag
    in the request that added it. A request that adds messages and shows none has
    Django re-store ``_get``'s messages with the new ones (``list + list``, which
    reads no element through these methods): the rows, which ``_store`` does not
    keep, are then never queried.
    """

    def __init__(self, storage: PersistentMessageStorage, plain: list, rows: Callable[[], list]) -> None:
        super().__init__(plain)
        self.storage = storage
        self._rows: Callable[[], list] | None = rows

    def _load(self) -> None:
        if self._rows is None:
            return
        rows, self._rows = self._rows(), None
        list.__setitem__(self, slice(0, 0), rows)
        if not list.__len__(self) and self.storage._monitio.carry.held():
            # Nothing to show, but a carry whose messages are all stored (or a forged
            # one) to drop: only _store gets the response, and Django calls it for a
            # storage that was used. Marking it so loses nothing, since it is empty.
            self.storage.used = True

    def extend(self, messages) -> None:
        self._load()
        super().extend(map(self.storage._persisted, messages))

    def __bool__(self) -> bool:
        # Django keeps ``_get``'s list only if it is true (``messages or []``); an
        # empty one must be kept too, to be extended; and this asks no query.
        return True


def _loading(method: Callable) -> Callable:
    def loaded(self: _Shown, *args: Any, **kwargs: Any) -> Any:
        self._load()
        return method(self, *args, **kwargs)

    loaded.__name__ = method.__name__
    return loaded


# Every other way to read or change the list queries the rows first.
for _name in (
    "__iter__", "__len__", "__getitem__", "__contains__", "__reversed__", "__eq__",
    "__ne__", "__repr__", "__setitem__", "__delitem__", "__iadd__", "__mul__",
    "append", "insert", "pop", "remove", "index", "count", "copy", "sort", "reverse",
    "clear",
):
    setattr(_Shown, _name, _loading(getattr(list, _name)))
del _name


class _TaggedMessage(DjangoMessage):
    """A message Django's storage keeps at one of monitio's levels (``DEBUG`` is not
    persistent), tagged by :func:`monitio.models.level_tags`, not Django's dict."""

    @property
    def level_tag(self) -> str:
        return level_tags().get(self.level, "")


def _tagged(message: Any) -> Any:
    """A plain message at one of monitio's levels with monitio's tag."""
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


def _by_created(messages: list[Message]) -> list[Message]:
    return sorted(messages, key=lambda m: m.created)
