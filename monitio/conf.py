"""monitio's settings: one ``MONITIO`` dict, read lazily through :data:`settings`.

Every key, its default and its meaning are in :data:`DEFAULTS` below; set only the
keys you change, e.g. ``MONITIO = {"REDIS_URL": "redis://redis:6379/1"}``.

This module is the single source for Django and the SSE gateway alike: importing it
needs no configured Django, and :func:`resolve` reads a key from any object with a
settings module's attributes, so the gateway reads the site's own settings module
with it (see :mod:`sse_gateway.config`) without loading apps or a database.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed

from .exceptions import MonitioConfigurationError

DEFAULTS: dict[str, Any] = {
    # Redis holding the live-event history and fan-out stream (see monitio.wire).
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    # Prefix of every Redis key. The gateway reads this and the other stream values
    # (REDIS_URL, STREAM_*) from the same settings (sse_gateway.config).
    "KEY_PREFIX": "monitio",
    # Hide read persistent messages when iterating ``messages``. When unset, the
    # original project's MONITIO_EXCLUDE_READ setting is honoured.
    "EXCLUDE_READ": True,
    # Longest accepted message body and subject, in characters.
    "MAX_MESSAGE_LENGTH": 10_000,
    "MAX_SUBJECT_LENGTH": 255,
    # Live events kept per user for replay: entries, and seconds after the last one.
    "HISTORY_MAXLEN": 500,
    "HISTORY_TTL": 7 * 24 * 3600,
    # Entries kept in the stream every gateway process reads.
    "FANOUT_MAXLEN": 100_000,
    # Where browsers open the event stream (the gateway; its path is the gateway's).
    "STREAM_URL": "/sse/",
    # Key signing stream credentials; None means SECRET_KEY. A gateway configured by
    # environment variables alone needs the same value (MONITIO_STREAM_SECRET).
    "STREAM_SECRET": None,
    # Seconds a stream credential may open new streams.
    "STREAM_TOKEN_MAX_AGE": 300,
    # The HttpOnly, SameSite=Strict cookie carrying the credential.
    "STREAM_COOKIE_NAME": "monitio_stream",
    "STREAM_COOKIE_PATH": "/sse/",
    "STREAM_COOKIE_DOMAIN": None,
    "STREAM_COOKIE_SECURE": True,
    # E-mail sender (None: DEFAULT_FROM_EMAIL) and subject prefix.
    "EMAIL_FROM": None,
    "EMAIL_SUBJECT_PREFIX": "",
    # Seconds a request's queued message is shown before the worker has stored it.
    "PENDING_CARRY_SECONDS": 600,
    # Rows per INSERT, and users per Redis pipeline, when sending in bulk.
    "BULK_BATCH_SIZE": 1000,
    # State changes (mark read/unread, delete) one user may make, django-ratelimit's
    # "count/period" form, counted in the cache RATELIMIT_USE_CACHE names; beyond it
    # they answer 429 with Retry-After. None: no limit.
    "STATE_CHANGE_RATE": "120/m",
    # Users may turn off e-mail of messages sent without a kind, unless this is True
    # (see monitio.kinds).
    "DEFAULT_KIND_MANDATORY": False,
    # The site's base URL, e.g. "https://example.com": e-mails' unsubscribe links are
    # absolute. Unset: e-mails go without one (system check monitio.W007).
    "SITE_URL": None,
    # Seconds an e-mail's unsubscribe link works (signed tokens; see monitio.unsubscribe).
    "UNSUBSCRIBE_MAX_AGE": 90 * 24 * 3600,
    # Accelerators (monitio._compat): shortcuts through kombu's and Celery's
    # internals, used only on the releases they were tested with. True or False for
    # all, or per library, e.g. {"kombu": True, "celery": False}.
    "ACCELERATORS": True,
    # How to find the time zone of a user who set none on the preferences page: a
    # callable, or its dotted path, taking the user and returning an IANA name or
    # None. None (or a None answer): TIME_ZONE. See monitio.email_settings.
    "USER_TIME_ZONE": None,
    # How to find the language a user reads messages in: the dotted path of a callable
    # (user) -> str | None, or the name of a user attribute. None: LANGUAGE_CODE.
    "USER_LANGUAGE": None,
}

#: Settings of the original project that still work, and the key they map to.
LEGACY_SETTINGS = {"MONITIO_EXCLUDE_READ": "EXCLUDE_READ"}


class MonitioSettings:
    """Attribute access to ``settings.MONITIO`` with :data:`DEFAULTS` filled in."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"monitio has no setting named {name!r}")
        if name not in self._cache:
            self._cache[name] = self._resolve(name)
        return self._cache[name]

    @staticmethod
    def _resolve(name: str) -> Any:
        return resolve(name, django_settings)

    def reload(self) -> None:
        """Forget cached values (called when a test overrides a setting)."""
        self._cache.clear()


def resolve(name: str, source: Any) -> Any:
    """The value of key ``name`` given the settings attributes of ``source``.

    ``source`` is Django's ``settings`` or a settings module itself: ``MONITIO``
    overrides :data:`DEFAULTS`, the legacy settings come next, and ``STREAM_SECRET``
    falls back to ``SECRET_KEY``.
    """
    user = getattr(source, "MONITIO", {})
    if not isinstance(user, dict):
        raise MonitioConfigurationError("settings.MONITIO must be a dict.")
    unknown = set(user) - set(DEFAULTS)
    if unknown:
        raise MonitioConfigurationError(
            f"Unknown key(s) in settings.MONITIO: {', '.join(sorted(unknown))}. "
            f"Known keys: {', '.join(DEFAULTS)}."
        )
    if name in user:
        return user[name]
    for legacy, key in LEGACY_SETTINGS.items():
        if key == name and hasattr(source, legacy):
            return getattr(source, legacy)
    if name == "STREAM_SECRET":
        return getattr(source, "SECRET_KEY", None)
    return DEFAULTS[name]


def stream_fingerprint(secret: str, cookie_name: str, path: str) -> dict[str, str]:
    """The stream values without which a gateway refuses every stream of Django's, as
    a gateway records them in Redis at :func:`fingerprint_key` and the system check
    compares them.

    The secret appears only as an HMAC of a fixed label, which tells two secrets
    apart and reveals nothing of either.
    """
    digest = hmac.new(str(secret).encode(), b"monitio.config-fingerprint", hashlib.sha256)
    return {
        "secret": digest.hexdigest()[:16],
        "cookie_name": str(cookie_name),
        "path": str(path),
    }


def fingerprint_key(prefix: str) -> str:
    """The Redis hash where gateways record :func:`stream_fingerprint`."""
    return f"{prefix}:gateway:config"


settings = MonitioSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting in ("MONITIO", "SECRET_KEY", *LEGACY_SETTINGS):
        settings.reload()


setting_changed.connect(_reload)
