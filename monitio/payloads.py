"""Validate a message in the caller and turn it into a JSON task payload.

Everything that can be wrong with a message is caught here, before anything is
queued, so the caller gets a clear exception and the worker never sees bad input.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.contrib.messages import constants as django_levels
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.safestring import SafeData

from . import constants, kinds
from .conf import settings
from .exceptions import InvalidMessage, MessageTooLarge, UnknownLevel

#: Django's and monitio's own levels: known whatever ``MESSAGE_TAGS`` says.
BUILTIN_LEVELS = frozenset({*django_levels.DEFAULT_LEVELS.values(), *constants.DEFAULT_LEVELS.values()})


def known_levels() -> set[int]:
    """Django's levels, monitio's, and any custom level named in ``MESSAGE_TAGS``."""
    from django.conf import settings as django_settings

    custom = getattr(django_settings, "MESSAGE_TAGS", {}) or {}
    return {*BUILTIN_LEVELS, *custom}


def check_level(level: Any) -> int:
    """Return ``level`` as an int, or raise :class:`UnknownLevel`."""
    if isinstance(level, bool) or not isinstance(level, int):
        raise UnknownLevel(f"Message level must be an int, not {type(level).__name__}.")
    if level not in BUILTIN_LEVELS and level not in known_levels():
        raise UnknownLevel(
            f"Unknown message level {level}. Use one of django.contrib.messages' or "
            "monitio's levels, or name it in settings.MESSAGE_TAGS."
        )
    return level


def check_text(message: Any, subject: Any) -> None:
    if not isinstance(message, str):
        raise InvalidMessage(f"Message must be a str, not {type(message).__name__}.")
    if not isinstance(subject, str):
        raise InvalidMessage(f"Subject must be a str, not {type(subject).__name__}.")
    if "\x00" in message or "\x00" in subject:
        # PostgreSQL cannot store NUL in text; refuse it on every database alike.
        raise InvalidMessage("Message and subject must not contain NUL characters.")
    if len(message) > settings.MAX_MESSAGE_LENGTH:
        raise MessageTooLarge(
            f"Message is {len(message)} characters; the maximum is "
            f'{settings.MAX_MESSAGE_LENGTH} (MONITIO["MAX_MESSAGE_LENGTH"]).'
        )
    if len(subject) > settings.MAX_SUBJECT_LENGTH:
        raise MessageTooLarge(
            f"Subject is {len(subject)} characters; the maximum is "
            f'{settings.MAX_SUBJECT_LENGTH} (MONITIO["MAX_SUBJECT_LENGTH"]).'
        )


def check_options(expires: Any, close_timeout: Any, url: Any, extra_tags: Any) -> None:
    if expires is not None:
        if not isinstance(expires, datetime):
            raise InvalidMessage("expires must be a datetime.")
        if timezone.is_naive(expires):
            raise InvalidMessage("expires must be timezone-aware (naive datetimes are ambiguous).")
    if close_timeout is not None and (
        isinstance(close_timeout, bool) or not isinstance(close_timeout, int) or close_timeout < 0
    ):
        raise InvalidMessage("close_timeout must be a non-negative int of milliseconds.")
    if url is not None and (not isinstance(url, str) or len(url) > 1024):
        raise InvalidMessage("url must be a str of at most 1024 characters.")
    if not isinstance(extra_tags, str) or len(extra_tags) > 128:
        raise InvalidMessage("extra_tags must be a str of at most 128 characters.")


def build(
    *,
    user_id: Any,
    level: Any,
    message: Any,
    extra_tags: str = "",
    subject: str = "",
    from_user_id: Any = None,
    expires: datetime | None = None,
    close_timeout: int | None = None,
    url: str | None = None,
    email: bool = False,
    sse: bool = True,
    read: bool = False,
    message_id: uuid.UUID | None = None,
    created: datetime | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """Validate one message and return its task payload (JSON-serialisable).

    ``created`` defaults to now: the time of the call, not of the worker's insert.
    """
    level = check_level(level)
    message = str(message) if _is_lazy(message) else message
    subject = str(subject) if _is_lazy(subject) else subject
    check_text(message, subject)
    check_options(expires, close_timeout, url, extra_tags)
    kind = kinds.check_kind(kind)
    return {
        "id": str(message_id or uuid.uuid4()),
        "user": user_id,
        "from_user": from_user_id,
        "level": level,
        "message": str(message),
        "safe": isinstance(message, SafeData),
        "subject": str(subject),
        "extra_tags": extra_tags,
        "created": (created or timezone.now()).isoformat(),
        "expires": expires.isoformat() if expires else None,
        "close_timeout": close_timeout,
        "url": url,
        "email": bool(email),
        "sse": bool(sse),
        "read": bool(read),
        "kind": kind,
    }


#: Payload fields that :func:`compact` leaves out when they hold these values.
DEFAULTS: dict[str, Any] = {
    "from_user": None,
    "safe": False,
    "subject": "",
    "extra_tags": "",
    "expires": None,
    "close_timeout": None,
    "url": None,
    "email": False,
    "sse": True,
    "read": False,
    "kind": kinds.DEFAULT_KIND,
}


def compact(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` without the fields at their default value (for a small cookie)."""
    return {k: v for k, v in payload.items() if k not in DEFAULTS or DEFAULTS[k] != v}


def expand(compacted: dict[str, Any]) -> dict[str, Any]:
    """The full payload of a :func:`compact` one."""
    return {**DEFAULTS, **compacted}


def _is_lazy(value: Any) -> bool:
    """Lazy translation strings (``gettext_lazy``) are accepted and resolved now."""
    return isinstance(value, Promise)
