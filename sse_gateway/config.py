"""The gateway's configuration, read once from environment variables.

The gateway does not load Django settings. Every variable, its default and meaning:

``MONITIO_REDIS_URL``             ``redis://127.0.0.1:6379/0``. Same Redis as Django's
                                  ``MONITIO["REDIS_URL"]``.
``MONITIO_KEY_PREFIX``            ``monitio``. Same as ``MONITIO["KEY_PREFIX"]``.
``MONITIO_STREAM_SECRET``         required. Same as ``MONITIO["STREAM_SECRET"]`` (which
                                  defaults to Django's ``SECRET_KEY``).
``MONITIO_STREAM_TOKEN_MAX_AGE``  ``300`` seconds a stream credential may open streams.
``MONITIO_STREAM_COOKIE_NAME``    ``monitio_stream``.
``MONITIO_ALLOWED_ORIGINS``       empty: same origin only. Comma- or space-separated
                                  origins (``https://app.example.com``) allowed to open
                                  a stream from another origin, with credentials.
``MONITIO_HEARTBEAT_SECONDS``     ``15``: a comment is written to an idle stream this
                                  often, below every proxy's idle timeout.
``MONITIO_RETRY_MS``              ``2000``: the ``retry:`` sent when a stream opens.
``MONITIO_DRAIN_WINDOW_MS``       ``5000``: on SIGTERM each stream is told to come back
                                  after ``RETRY_MS`` plus a random share of this window,
                                  so reconnects spread out.
``MONITIO_MAX_CONNECTIONS``       ``10000`` streams per process; beyond, 503. Run
                                  gunicorn with ``--worker-connections`` above it.
                                  Lowered, with a warning, when the open-file limit
                                  is too low for it (see :mod:`.fdlimit`).
``MONITIO_MAX_STREAMS_PER_USER``  ``10`` streams per user per process; beyond, 429.
``MONITIO_CLIENT_QUEUE_SIZE``     ``256`` events waiting for a client whose previous
                                  write is still blocked; one more and that client is
                                  disconnected (it resumes through ``Last-Event-ID``).
``MONITIO_GATEWAY_PATH``          ``/sse/``: the stream's path.
``MONITIO_REDIS_POOL_SIZE``       ``32`` shared connections for connect-time queries
                                  (the fan-out reader has its own single connection).
``MONITIO_LOG_LEVEL``             ``INFO``. The gateway logs refusals and drops, never
                                  a credential, a cookie or a query string.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


class ConfigurationError(Exception):
    """An environment variable is missing or wrong; the message names it."""


@dataclass(frozen=True)
class Config:
    stream_secret: str
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "monitio"
    token_max_age: int = 300
    cookie_name: str = "monitio_stream"
    allowed_origins: frozenset[str] = frozenset()
    heartbeat_seconds: float = 15.0
    retry_ms: int = 2000
    drain_window_ms: int = 5000
    max_connections: int = 10_000
    max_streams_per_user: int = 10
    client_queue_size: int = 256
    path: str = "/sse/"
    redis_pool_size: int = 32
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Build the configuration from ``env`` (default: ``os.environ``)."""
        env = os.environ if env is None else env
        secret = env.get("MONITIO_STREAM_SECRET", "")
        if not secret:
            raise ConfigurationError(
                "Set MONITIO_STREAM_SECRET to the value of Django's "
                'MONITIO["STREAM_SECRET"] (or SECRET_KEY when that is unset).'
            )
        path = env.get("MONITIO_GATEWAY_PATH", cls.path)
        if not path.startswith("/"):
            raise ConfigurationError("MONITIO_GATEWAY_PATH must start with '/'.")
        return cls(
            stream_secret=secret,
            redis_url=env.get("MONITIO_REDIS_URL", cls.redis_url),
            key_prefix=env.get("MONITIO_KEY_PREFIX", cls.key_prefix),
            token_max_age=_int(env, "MONITIO_STREAM_TOKEN_MAX_AGE", cls.token_max_age),
            cookie_name=env.get("MONITIO_STREAM_COOKIE_NAME", cls.cookie_name),
            allowed_origins=_origins(env.get("MONITIO_ALLOWED_ORIGINS", "")),
            heartbeat_seconds=_float(
                env, "MONITIO_HEARTBEAT_SECONDS", cls.heartbeat_seconds
            ),
            retry_ms=_int(env, "MONITIO_RETRY_MS", cls.retry_ms),
            drain_window_ms=_int(env, "MONITIO_DRAIN_WINDOW_MS", cls.drain_window_ms),
            max_connections=_int(env, "MONITIO_MAX_CONNECTIONS", cls.max_connections),
            max_streams_per_user=_int(
                env, "MONITIO_MAX_STREAMS_PER_USER", cls.max_streams_per_user
            ),
            client_queue_size=_int(
                env, "MONITIO_CLIENT_QUEUE_SIZE", cls.client_queue_size
            ),
            path=path,
            redis_pool_size=_int(env, "MONITIO_REDIS_POOL_SIZE", cls.redis_pool_size),
            log_level=env.get("MONITIO_LOG_LEVEL", cls.log_level).upper(),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _float(env, name, default)
    if value != int(value):
        raise ConfigurationError(f"{name} must be a whole number.")
    return int(value)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, not {raw!r}.") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be greater than 0.")
    return value


def _origins(raw: str) -> frozenset[str]:
    origins = set()
    for item in raw.replace(",", " ").split():
        origin = item.rstrip("/").lower()
        parts = urlsplit(origin)
        # "*" and "null" would let any page read a user's stream with their cookie.
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ConfigurationError(
                f"MONITIO_ALLOWED_ORIGINS: {item!r} is not an origin like "
                "https://app.example.com ('*' and 'null' are refused)."
            )
        origins.add(origin)
    return frozenset(origins)
