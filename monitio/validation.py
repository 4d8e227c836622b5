"""The rules a message must follow, checked in the caller before anything is queued.

Everything that can be wrong with a message is caught here, so the caller gets a
clear exception: whatever reaches the worker can be stored and shown.
:class:`monitio.spec.MessageSpec` applies these checks; the worker applies them again
(:func:`monitio.payloads.check_payload`), since a payload may come from an older
caller or be made by hand.
"""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.messages import constants as django_levels
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from . import constants
from .conf import settings
from .exceptions import InvalidMessage, MessageTooLarge, UnknownLevel

#: The largest ``close_timeout``: browsers' ``setTimeout`` takes a signed 32-bit delay
#: (a larger one fires at once), and it fits every database's integer column.
MAX_CLOSE_TIMEOUT = 2**31 - 1

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
    check_storable("message", message)
    check_storable("subject", subject)
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


def check_storable(name: str, text: str) -> None:
    """Refuse what no database stores alike: NUL (PostgreSQL refuses it in text) and
    lone surrogates (not encodable as UTF-8: SQLite and the drivers raise)."""
    if "\x00" in text:
        raise InvalidMessage(f"{name} must not contain NUL characters.")
    if _SURROGATE.search(text):
        raise InvalidMessage(f"{name} must not contain lone surrogates (not valid Unicode text).")


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_params(params: Any, message: str, subject: str) -> None:
    """Parameters are a dict of names to JSON scalars that fit the texts: the texts
    with them interpolated are checked as a plain message is. A translation that
    does not fit is caught where it is rendered (:func:`monitio.i18n.render`)."""
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise InvalidMessage("params must be a dict with str keys.")
    for name, value in params.items():
        if value is not None and not isinstance(value, (str, int, float)):
            raise InvalidMessage(
                f"params[{name!r:.50}] must be a str, a number, a bool or None, "
                f"not {type(value).__name__}."
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidMessage(f"params[{name!r:.50}] must be a finite number (JSON has no NaN).")
        if isinstance(value, str):
            check_storable(f"params[{name!r:.50}]", value)
    if not params:
        return
    try:
        rendered = message % params, subject % params
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidMessage(f"params do not fit the message or subject: {exc!r:.200}") from None
    check_text(*rendered)


def check_options(expires: Any, close_timeout: Any, url: Any, extra_tags: Any) -> None:
    if expires is not None:
        check_datetime("expires", expires)
    if close_timeout is not None and (
        isinstance(close_timeout, bool)
        or not isinstance(close_timeout, int)
        or not 0 <= close_timeout <= MAX_CLOSE_TIMEOUT
    ):
        raise InvalidMessage(
            f"close_timeout must be an int of milliseconds from 0 to {MAX_CLOSE_TIMEOUT}."
        )
    if url is not None:
        check_url(url)
    if not isinstance(extra_tags, str) or len(extra_tags) > 128:
        raise InvalidMessage("extra_tags must be a str of at most 128 characters.")
    check_storable("extra_tags", extra_tags)


def check_group_key(group_key: Any) -> None:
    """A short str (it is a column of the unique index of open groups); ``None`` for none."""
    if group_key is None:
        return
    limit = constants.GROUP_KEY_MAX_LENGTH
    if not isinstance(group_key, str):
        raise InvalidMessage(f"group_key must be a str, not {type(group_key).__name__}.")
    if not 1 <= len(group_key) <= limit:
        raise InvalidMessage(
            f"group_key must be 1 to {limit} characters long, not {len(group_key)}."
        )
    check_storable("group_key", group_key)


def check_datetime(name: str, value: Any) -> None:
    """An aware datetime that the database can store (in UTC)."""
    if not isinstance(value, datetime):
        raise InvalidMessage(f"{name} must be a datetime.")
    if timezone.is_naive(value):
        raise InvalidMessage(f"{name} must be timezone-aware (naive datetimes are ambiguous).")
    try:
        value.astimezone(dt_timezone.utc)
    except OverflowError:
        raise InvalidMessage(f"{name} is out of range once converted to UTC.") from None


def check_url(url: Any) -> None:
    """``url`` is a path on this site: the pages link it, and visiting it marks the
    message read. A scheme or a host is refused as ``url_has_allowed_host_and_scheme``
    with no allowed host refuses it (``//host``, ``/\\host``, ``/<tab>/host``), and so
    is any control character, which browsers drop or act on."""
    if not isinstance(url, str) or len(url) > 1024:
        raise InvalidMessage("url must be a str of at most 1024 characters.")
    check_storable("url", url)
    if (
        not url.startswith("/")
        or not url_has_allowed_host_and_scheme(url, allowed_hosts=None)
        or any(unicodedata.category(c) == "Cc" for c in url)
    ):
        raise InvalidMessage(
            f"url must be a path on this site starting with a single /, not {url[:100]!r}."
        )


def check_user_id(user_id: Any, role: str = "recipient") -> int | str:
    """Return ``user_id`` as a value of the user model's primary key (a str for a
    UUID), or raise :class:`InvalidMessage` (``"abc"`` or ``2**63`` for an integer key)."""
    if isinstance(user_id, bool) or not isinstance(user_id, (int, str, uuid.UUID)):
        raise InvalidMessage(f"A {role} id must be an int or a str, not {type(user_id).__name__}.")
    field = get_user_model()._meta.pk
    try:
        value = field.to_python(user_id)
        field.run_validators(value)
    except ValidationError as exc:
        raise InvalidMessage(
            f"{user_id!r:.100} is not a {role} id: {' '.join(exc.messages)}"
        ) from None
    return value if isinstance(value, (int, str)) else str(value)
