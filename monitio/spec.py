"""One message, as every entry point takes it: :class:`MessageSpec`.

``add_message``, ``create_message`` (and its ``.delay``), ``create_messages``, the
request's storage and the ``create_message`` task all build a :class:`MessageSpec`,
so a message's options, their defaults and their checks (:mod:`monitio.validation`)
are written here once. :class:`MessageOptions` types the keyword options the public
functions pass through (``**options: Unpack[MessageOptions]``).

A spec turns into the JSON task payload the worker stores (:meth:`MessageSpec.to_payload`)
and back (:meth:`MessageSpec.from_payload`); the payload's format is
:mod:`monitio.payloads`'s.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from django.utils import timezone
from django.utils.safestring import SafeData, mark_safe

from . import i18n, kinds, validation
from .exceptions import InvalidMessage


class MessageOptions(TypedDict, total=False):
    """The keyword options of :func:`monitio.add_message`, :func:`monitio.create_message`
    and :func:`monitio.create_messages`; their defaults are :class:`MessageSpec`'s."""

    subject: str
    email: bool
    sse: bool
    expires: datetime | None
    close_timeout: int | None
    url: str | None
    kind: str | None
    group_key: str | None
    params: dict[str, Any] | None


@dataclass(frozen=True)
class MessageSpec:
    """A checked message: raises :class:`~monitio.exceptions.InvalidMessage` (or a
    subclass) when built with bad input, so nothing bad is queued.

    ``message`` and ``subject`` may be lazy translations, or take ``params``: the
    message is then translatable, kept as its msgids and parameters and rendered in
    the recipient's language (:mod:`monitio.i18n`). ``created`` defaults to now: the
    time of the call, not of the worker's insert. ``user_id`` is ``None`` only in the
    template of :func:`monitio.create_messages`.
    """

    user_id: Any
    level: int
    message: Any
    extra_tags: str = ""
    from_user_id: Any = None
    subject: Any = ""
    email: bool = False
    sse: bool = True
    expires: datetime | None = None
    close_timeout: int | None = None
    url: str | None = None
    kind: str | None = None
    group_key: str | None = None
    params: dict[str, Any] | None = None
    #: A message to oneself that Django's storage shows is stored read (for its e-mail).
    read: bool = False
    #: Chosen here when not given (``None``): a new UUID, and now.
    id: uuid.UUID = None  # type: ignore[assignment]
    created: datetime = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        normal = _checked(self)
        for name, value in normal.items():
            object.__setattr__(self, name, value)

    @property
    def safe(self) -> bool:
        """Whether the sender marked the text safe (``mark_safe``): shown unescaped."""
        return self.params is None and isinstance(self.message, SafeData)

    def to_payload(self) -> dict[str, Any]:
        """The JSON task payload the worker stores (see :mod:`monitio.payloads`)."""
        return {
            "id": str(self.id),
            "user": self.user_id,
            "from_user": self.from_user_id,
            "level": self.level,
            "message": str(self.message),
            "safe": self.safe,
            "subject": str(self.subject),
            "extra_tags": self.extra_tags,
            "created": self.created.isoformat(),
            "expires": self.expires.isoformat() if self.expires else None,
            "close_timeout": self.close_timeout,
            "url": self.url,
            "email": self.email,
            "sse": self.sse,
            "read": self.read,
            "kind": self.kind,
            "group_key": self.group_key,
            "params": self.params,
        }

    @classmethod
    def from_payload(cls, payload: Any) -> MessageSpec:
        """The spec of a payload, checked with the caller's rules (one built by an older
        monitio or by hand may break them); raise :class:`InvalidMessage`.

        Fields missing from an older payload take their defaults. A kind this process
        has not registered is kept as it is: the worker stores it as the default kind
        (:mod:`monitio.preferences`), it does not reject the message.
        """
        try:
            text = payload["message"]
            spec = cls(
                id=uuid.UUID(payload["id"]),
                user_id=payload["user"],
                from_user_id=payload["from_user"],
                level=payload["level"],
                message=mark_safe(text) if payload.get("safe") and isinstance(text, str) else text,
                subject=payload["subject"],
                extra_tags=payload["extra_tags"],
                created=datetime.fromisoformat(payload["created"]),
                expires=datetime.fromisoformat(payload["expires"]) if payload["expires"] else None,
                close_timeout=payload["close_timeout"],
                url=payload["url"],
                email=payload.get("email", False),
                sse=payload.get("sse", True),
                read=payload.get("read", False),
                group_key=payload.get("group_key"),
                params=payload.get("params"),
            )
        except InvalidMessage:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidMessage(f"Malformed payload: {exc!r}") from None
        kind = payload.get("kind")
        object.__setattr__(spec, "kind", kind if isinstance(kind, str) else kinds.DEFAULT_KIND)
        return spec

    def replace(self, **changes: Any) -> MessageSpec:
        """A copy with ``changes``, checked again."""
        return dataclasses.replace(self, **changes)


def _checked(spec: MessageSpec) -> dict[str, Any]:
    """The normalised values of ``spec``'s fields; raise :class:`InvalidMessage`."""
    level = validation.check_level(spec.level)
    user_id = spec.user_id
    if user_id is not None:
        user_id = validation.check_user_id(user_id)
    from_user_id = spec.from_user_id
    if from_user_id is not None:
        from_user_id = validation.check_user_id(from_user_id, "sender")
    message, subject, params = spec.message, spec.subject, spec.params
    if i18n.is_lazy(message) or i18n.is_lazy(subject):
        params = {} if params is None else params
        message, subject = i18n.stored_texts(message, subject, params)
    validation.check_text(message, subject)
    if params is not None:
        validation.check_params(params, message, subject)
    validation.check_options(spec.expires, spec.close_timeout, spec.url, spec.extra_tags)
    message_id = uuid.uuid4() if spec.id is None else spec.id
    if not isinstance(message_id, uuid.UUID):
        raise InvalidMessage(f"id must be a UUID, not {type(message_id).__name__}.")
    created = timezone.now() if spec.created is None else spec.created
    validation.check_datetime("created", created)
    validation.check_group_key(spec.group_key)
    return {
        "level": level,
        "user_id": user_id,
        "from_user_id": from_user_id,
        "message": message,
        "subject": subject,
        "params": params,
        "email": bool(spec.email),
        "sse": bool(spec.sse),
        "read": bool(spec.read),
        "kind": kinds.check_kind(spec.kind),
        "id": message_id,
        "created": created,
    }
