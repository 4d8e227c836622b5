"""The ``django.contrib.messages`` storage backend, on Django's contract for one:
it implements ``_get`` and ``_store`` (and nothing else of Django's storage, but for
the optional accelerator :class:`~monitio._compat.django.StoreWithoutRows`) and adds
monitio's own public methods.

Anonymous users get exactly Django's :class:`FallbackStorage` (cookie, then
session). For an authenticated user, iterating ``messages`` yields:

1. their stored messages from the database, oldest first: unread persistent ones
   (read ones too when ``EXCLUDE_READ`` is off) and non-persistent ones sent to them
   by someone else, which are deleted once shown;
2. persistent messages this user's own requests queued that the worker has not
   written yet (:mod:`monitio.carry`: so the page after a redirect neither loses nor
   doubles them);
3. plain messages, kept in the cookie/session exactly as Django does;
4. the messages this request added, as Django shows them: Django's own ``Message``
   objects (monitio's level tags come from ``MESSAGE_TAGS`` for them, hence
   ``MESSAGE_TAGS = {**monitio.MESSAGE_TAGS}``; check ``monitio.W012``).

New monitio messages are not written here. :func:`monitio.add_message` checks one
(:class:`~monitio.spec.MessageSpec`) and hands it to :meth:`PersistentMessageStorage.send`,
which sends it once the transaction commits (in one batch, from ``_store``, when the
response goes out). A message for the request's own user is also shown with Django's
``add``, and a persistent one carried; ``send`` notes it, so that ``_store``, which
gets it back as a Django ``Message``, keeps it out of the cookie and does not send it
twice. A message at a persistent level added with Django's own ``messages.add_message``
is persisted and carried from ``_store``.

What the contract gives no hook for (Django tells a storage nothing when a message is
added or shown; ``_store`` gets only the messages still to keep):

* Django's ``add_message`` at a persistent level for an anonymous user raises
  :class:`~monitio.exceptions.AnonymousRecipient` when the response stores it, not in
  the caller; and one the page shows in the request that added it is shown that once,
  never persisted (use :func:`monitio.add_message` for persistent messages).
* A request that adds messages and shows none has Django re-store ``_get``'s messages
  with the new ones: ``_get`` then asks its rows query, though the rows are not kept,
  at a cost that grows with the user's unread messages. The Django accelerator
  (:mod:`monitio._compat.django`, on the tested releases unless
  ``MONITIO["ACCELERATORS"]`` turns it off) skips that query.
* ``_store`` tells the messages ``send`` noted from Django's own by level, text and
  tags, and by whether the messages had been shown (``used``) when ``send`` noted
  one: so when a page shows them twice in one request, a message added with Django's
  ``add_message`` after the second time, alike in the three to one ``send`` noted
  between the two, is taken for that one: lost.
* The counts include the plain messages this request added through
  :func:`monitio.add_message`, not those Django's ``add_message`` added.
* A message for another user goes as a task of its own when its transaction commits
  (unless in :func:`monitio.batch`), not in the response's batch: Django calls
  ``_store`` only for a request that added or showed one of its messages.
"""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

from django.contrib.messages.storage.fallback import FallbackStorage
from django.db import transaction
from django.db.models import Count, Q

from monitio_tasks.tasks import deliver

from . import constants, i18n, validation
from ._compat.django import StoreWithoutRows
from .batches import send_on_commit
from .carry import Carry
from .conf import settings
from .enqueue import enqueue, enqueued
from .exceptions import AnonymousRecipient
from .models import Message
from .spec import MessageSpec


class PersistentMessageStorage(StoreWithoutRows, FallbackStorage):
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
        state = self._monitio
        text = _now(spec.message, spec.params)
        if constants.is_persistent(spec.level):
            # A grouped message may merge into a row of another id: not carried, but
            # kept by Django's storage for the next page.
            carried = not spec.group_key
            if carried:
                state.carry.add(payload)
            state.noted.append(_Noted(spec.level, text, spec.extra_tags, carried, self.used))
        else:
            state.plain_added += 1
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
        """The user's rows and carried messages, then Django's storage's messages."""
        plain, all_retrieved = super()._get(*args, **kwargs)
        user = self._user()
        rows = self._with_carried(self._shown_rows(user)) if user is not None else []
        messages = rows + list(plain or [])
        state = self._monitio
        state.loaded = list(messages)
        if not messages and state.carry.held():
            # Nothing to show, but a carry whose messages are all stored (or a forged
            # one) to drop: only _store gets the response, and Django calls it for a
            # storage that was used. Marking it so loses nothing: it holds nothing.
            self.used = True
        return messages, all_retrieved

    def stored_messages(self) -> list:
        """What ``_get`` returns less the rows: the messages ``_store`` gives back to
        Django's storage (see :mod:`monitio._compat.django`)."""
        plain, _ = super()._get()
        self._monitio.loaded = list(plain or [])
        return list(self._monitio.loaded)

    def _store(self, messages, response, *args, **kwargs):
        """Send this request's batch; keep plain messages as Django does; delete the
        non-persistent rows this request showed.

        The batch goes to the broker first; the storing overlaps its round trip.
        """
        state = self._monitio
        returned = {id(m) for m in state.loaded}
        plain = [
            m for m in messages
            if not isinstance(m, Message) and (id(m) in returned or not self._carried(m))
        ]
        state.sent = True
        batch, state.batch = state.batch, []
        with enqueued(deliver, [batch]) if batch else nullcontext():
            kept = {id(m) for m in messages}
            shown = [
                m.pk for m in state.loaded
                if isinstance(m, Message) and id(m) not in kept
                and not m._state.adding and not m.is_persistent()
            ]
            if shown:
                Message.objects.filter(pk__in=shown).delete()
            state.loaded = []
            unstored = super()._store(plain, response, *args, **kwargs)
            state.carry.save(response)
        return unstored

    def _carried(self, message: Any) -> bool:
        """Whether ``message``, added in this request, is carried (so kept out of
        Django's storage): a persistent one ``send`` noted and carried, or one
        Django's own ``add_message`` added at a persistent level, sent from here."""
        if not constants.is_persistent(message.level):
            return False
        noted = self._monitio.take_noted(message, shown=self.used)
        if noted is not None:
            return noted.carried
        user = self._user()
        if user is None:
            # Django's add has no hook to refuse it in the caller, as monitio.add_message does.
            raise AnonymousRecipient(
                f"Persistent message level {message.level} cannot be used for an anonymous "
                "user (added with django.contrib.messages; monitio.add_message(..., "
                "fail_silently=True) drops it instead)."
            )
        payload = MessageSpec(
            user_id=user.pk, level=message.level, message=message.message,
            extra_tags=message.extra_tags or "",
        ).to_payload()
        self._monitio.carry.add(payload)
        transaction.on_commit(partial(self._committed, payload))
        return True

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
        return [m for m in self if not constants.is_persistent(m.level)]

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
            # request's are those monitio.add_message queued (see show()): Django
            # tells a storage nothing of what its own add_message adds.
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


@dataclass(frozen=True)
class _Noted:
    """A persistent message ``send`` showed with Django's ``add``: what ``_store``
    knows it by (Django's ``Message`` holds no more) and whether the carry has it."""

    level: int
    text: Any
    extra_tags: str
    carried: bool
    #: Whether the request's messages had been shown (Django's ``used``) when it was added.
    after_shown: bool

    def matches(self, message: Any) -> bool:
        return (
            message.level == self.level
            and message.message == self.text
            and (message.extra_tags or "") == (self.extra_tags or "")
        )


class _RequestState:
    """What the storage keeps for its request, beside Django's own state."""

    def __init__(self, carry: Carry) -> None:
        self.carry = carry
        #: Payloads whose transaction committed, for the response's batch.
        self.batch: list[dict[str, Any]] = []
        #: Whether the batch went (a later commit sends its payload at once).
        self.sent = False
        #: What ``_get`` returned: a row ``_store`` is not given was shown, and a
        #: message ``_store`` is given back was stored before, not added now.
        self.loaded: list[Any] = []
        #: Persistent messages ``send`` showed with Django's ``add``, in order.
        self.noted: list[_Noted] = []
        #: Plain messages monitio.add_message queued (for the counts).
        self.plain_added = 0

    def take_noted(self, message: Any, *, shown: bool) -> _Noted | None:
        """The first message ``send`` noted that ``message`` is, taken off the list.

        Once the messages were ``shown``, Django stores only those added after the last
        time: one noted before they were first shown was shown, so it is none of them.
        """
        for i, noted in enumerate(self.noted):
            if (noted.after_shown or not shown) and noted.matches(message):
                return self.noted.pop(i)
        return None


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
