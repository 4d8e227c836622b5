"""The public API: ``add_message`` and friends, as in ``django.contrib.messages``.

``add_message`` queues; nothing is written or sent in the request. The message's
UUID is returned at once (the original returned the saved row: a deliberate change,
since the row is written by a Celery worker after the request commits).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.messages.api import MessageFailure
from django.db.models import QuerySet
from django.http import HttpRequest

from monitio_tasks import tasks

from . import constants, validation
from .batches import send_on_commit
from .enqueue import enqueue_on_commit
from .exceptions import AnonymousRecipient, InvalidMessage
from .spec import MessageOptions, MessageSpec
from .storage import PersistentMessageStorage

if TYPE_CHECKING:
    from celery.result import AsyncResult
    from django.contrib.messages.storage.base import BaseStorage
    from typing_extensions import Unpack


def add_message(
    request: HttpRequest,
    level: int,
    message: str,
    extra_tags: str = "",
    fail_silently: bool = False,
    *,
    user: Any = None,
    from_user: Any = None,
    **options: Unpack[MessageOptions],
) -> uuid.UUID | None:
    """Queue a message for ``user`` (default: the request's user).

    ``options`` are :class:`~monitio.spec.MessageOptions`. Return the message's UUID
    when monitio stores it, or ``None`` when it is a plain message kept by Django's
    cookie/session storage. Raise :class:`MessageFailure` when monitio's storage is
    not installed, :class:`~monitio.exceptions.AnonymousRecipient` for a persistent
    level for an anonymous user (``fail_silently=True`` silences both), and
    :class:`~monitio.exceptions.InvalidMessage` for bad input (an unregistered
    ``kind`` among it: :class:`~monitio.exceptions.UnknownKind`).

    With ``group_key``, the message merges into the user's unread message with that
    key, if any (see :mod:`monitio.grouping`); the UUID returned is then not a row's.
    """
    storage = get_messages(request)
    if not isinstance(storage, PersistentMessageStorage):
        if fail_silently:
            return None
        raise MessageFailure(
            "You cannot add messages without installing "
            "django.contrib.messages.middleware.MessageMiddleware and setting "
            'MESSAGE_STORAGE = "monitio.storage.PersistentMessageStorage".'
        )
    validation.check_level(level)
    viewer = _pk(getattr(request, "user", None))
    recipient = _pk(user) if user is not None else viewer
    if not message:
        return None
    persistent = constants.is_persistent(level)
    if recipient is None:
        if not persistent:
            storage.show(level, message, extra_tags, options.get("params"))
            return None
        if fail_silently:
            return None
        raise AnonymousRecipient("Persistent message levels cannot be used for anonymous users.")
    if int(level) < storage.level:
        return None
    to_self = recipient == viewer
    if to_self and not persistent and not options.get("email"):
        storage.show(level, message, extra_tags, options.get("params"))
        return None
    spec = MessageSpec(
        user_id=recipient, level=level, message=message, extra_tags=extra_tags,
        from_user_id=_pk(from_user),
        # A plain message to oneself is shown by Django's storage; the row exists
        # only for the e-mail, so it starts out read.
        read=to_self and not persistent, **options,
    )
    return storage.send(spec)


def create_message(
    to_user: Any,
    level: int,
    message: str,
    from_user: Any = None,
    extra_tags: str = "",
    **options: Unpack[MessageOptions],
) -> uuid.UUID:
    """Queue a message for ``to_user`` (a user or a user id) without a request.

    The task is sent when the current transaction commits; inside :func:`batch`, with
    the block's other messages. From a Celery job, prefer
    ``create_message.delay(user_id, level, message, ...)``, which takes ids only.
    """
    spec = _spec(_user_id(to_user), level, message, from_user, extra_tags, options)
    send_on_commit(spec.to_payload())
    return spec.id


def _delay(
    user_id: Any,
    level: int,
    message: str,
    from_user: Any = None,
    extra_tags: str = "",
    **options: Unpack[MessageOptions],
) -> AsyncResult:
    """Enqueue :func:`create_message` as a task; arguments are ids and JSON values.

    The message is checked here first, with :func:`create_message`'s rules, so bad
    input raises :class:`~monitio.exceptions.InvalidMessage` in the caller and nothing
    is queued. It is dated now, when the job asks for it, so messages a job sends one
    after another keep their order even when two workers store them concurrently.
    """
    spec = MessageSpec(
        user_id=validation.check_user_id(user_id), level=level, message=message,
        from_user_id=from_user, extra_tags=extra_tags, **options,
    )
    # The task gets what the caller passed, with the texts, kind and params the
    # spec stores (a lazy translation is not JSON).
    checked = {"subject": spec.subject, "kind": spec.kind, "params": spec.params}
    return tasks.create_message.delay(
        user_id, level, spec.message, from_user=from_user, extra_tags=extra_tags,
        created=spec.created.isoformat(), **{**options, **checked},
    )


create_message.delay = _delay  # type: ignore[attr-defined]


def create_messages(
    to_users: Iterable[Any] | QuerySet,
    level: int,
    message: str,
    from_user: Any = None,
    extra_tags: str = "",
    **options: Unpack[MessageOptions],
) -> uuid.UUID:
    """Queue one message for many users (users, ids, or a queryset of users).

    Return the batch UUID; each recipient's message id is derived from it, so a
    redelivered batch never makes duplicates. Rows are inserted in batches and the
    live events published through pipelines.
    """
    if isinstance(to_users, QuerySet):
        user_ids = list(to_users.values_list("pk", flat=True))
    else:
        user_ids = [validation.check_user_id(_user_id(u)) for u in to_users]
    template = _spec(None, level, message, from_user, extra_tags, options)
    if user_ids:
        enqueue_on_commit(tasks.deliver_bulk, [user_ids, template.to_payload()])
    return template.id


def _spec(
    user_id: Any, level: int, message: str, from_user: Any, extra_tags: str,
    options: MessageOptions,
) -> MessageSpec:
    sender = _user_id(from_user) if from_user is not None else None
    return MessageSpec(
        user_id=user_id, level=level, message=message, from_user_id=sender,
        extra_tags=extra_tags, **options,
    )


def _user_id(user: Any) -> Any:
    if user is None:
        raise InvalidMessage("A recipient is required.")
    if hasattr(user, "is_authenticated"):
        if not user.is_authenticated:
            raise AnonymousRecipient("Messages cannot be sent to an anonymous user.")
        return user.pk
    if isinstance(user, (int, str)) and not isinstance(user, bool):
        return user
    raise InvalidMessage(f"A recipient must be a user or a user id, not {type(user).__name__}.")


def _pk(user: Any) -> Any:
    """A user's primary key; ``None`` for anonymous; ids pass through."""
    if user is None:
        return None
    if hasattr(user, "is_authenticated"):
        return user.pk if user.is_authenticated else None
    return user


def get_messages(request: HttpRequest) -> BaseStorage | list[Any]:
    """Return the message storage of ``request`` (Django's ``get_messages``: ``[]``
    without the message middleware)."""
    return messages.get_messages(request)


def _level_shortcut(level: int, name: str) -> Callable[..., uuid.UUID | None]:
    def shortcut(
        request: HttpRequest, message: str, extra_tags: str = "", fail_silently: bool = False,
        **options: Any,
    ) -> uuid.UUID | None:
        return add_message(request, level, message, extra_tags, fail_silently, **options)

    shortcut.__name__ = shortcut.__qualname__ = name
    shortcut.__doc__ = f"Add a message with the ``{name.upper()}`` level."
    return shortcut


debug = _level_shortcut(constants.DEBUG, "debug")
info = _level_shortcut(constants.INFO, "info")
success = _level_shortcut(constants.SUCCESS, "success")
warning = _level_shortcut(constants.WARNING, "warning")
error = _level_shortcut(constants.ERROR, "error")
