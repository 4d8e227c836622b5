"""The gateway's configuration, read once at start: the site's settings, then
environment variables.

Six values must equal Django's: the Redis URL, the key prefix, the stream secret,
the token age, the cookie name and the stream's path. With
``DJANGO_SETTINGS_MODULE`` set (``manage.py monitio_gateway`` and
``python -m sse_gateway --settings`` set it), the gateway imports that settings
module and reads them from its ``MONITIO`` dict through :func:`monitio.conf.resolve`,
the same code and defaults Django uses; no app, model or database is loaded. An
environment variable still overrides its value, and one that disagrees with the
site's is logged as a warning at start, with the values (never the secret). Without
a settings module every value comes from the environment, and the secret is then
required. :func:`log_summary` logs what the gateway uses at start.

Every variable, its default and meaning (the shared defaults are
:data:`monitio.conf.DEFAULTS`, Django's own):

``MONITIO_REDIS_URL``             ``MONITIO["REDIS_URL"]``, else
                                  ``redis://127.0.0.1:6379/0``.
``MONITIO_KEY_PREFIX``            ``MONITIO["KEY_PREFIX"]``, else ``monitio``.
``MONITIO_STREAM_SECRET``         ``MONITIO["STREAM_SECRET"]`` (which defaults to
                                  ``SECRET_KEY``); required without a settings module.
``MONITIO_STREAM_TOKEN_MAX_AGE``  ``MONITIO["STREAM_TOKEN_MAX_AGE"]``, else ``300``
                                  seconds a stream credential may open streams.
``MONITIO_STREAM_COOKIE_NAME``    ``MONITIO["STREAM_COOKIE_NAME"]``, else
                                  ``monitio_stream``.
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
``MONITIO_GATEWAY_PATH``          the path of ``MONITIO["STREAM_URL"]``, else ``/sse/``:
                                  the stream's path.
``MONITIO_REDIS_POOL_SIZE``       ``32`` shared connections for connect-time queries
                                  (the fan-out reader has its own single connection).
``MONITIO_LOG_LEVEL``             ``INFO``. The gateway logs refusals and drops, never
                                  a credential, a cookie or a query string.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from monitio.conf import DEFAULTS, resolve
from monitio.exceptions import MonitioConfigurationError

logger = logging.getLogger("sse_gateway")

#: What goes wrong when a variable overrides the site's value with another.
CONSEQUENCES = {
    "redis_url": "unless both name the same server and database, events Django "
    "publishes never reach these streams",
    "key_prefix": "events Django publishes never reach these streams",
    "cookie_name": "the gateway never finds the credential Django sets (401)",
    "path": "pages open another path (404) unless a proxy rewrites it",
    "token_max_age": "credentials open streams for another time than Django's cookie lasts",
}

#: The values shared with Django: variable -> (Config field, ``MONITIO`` key).
SHARED = {
    "MONITIO_STREAM_SECRET": ("stream_secret", "STREAM_SECRET"),
    "MONITIO_REDIS_URL": ("redis_url", "REDIS_URL"),
    "MONITIO_KEY_PREFIX": ("key_prefix", "KEY_PREFIX"),
    "MONITIO_STREAM_TOKEN_MAX_AGE": ("token_max_age", "STREAM_TOKEN_MAX_AGE"),
    "MONITIO_STREAM_COOKIE_NAME": ("cookie_name", "STREAM_COOKIE_NAME"),
    "MONITIO_GATEWAY_PATH": ("path", "STREAM_URL"),
}


class ConfigurationError(Exception):
    """A setting or environment variable is missing or wrong; the message names it."""


@dataclass(frozen=True)
class Config:
    stream_secret: str
    redis_url: str = DEFAULTS["REDIS_URL"]
    key_prefix: str = DEFAULTS["KEY_PREFIX"]
    token_max_age: int = DEFAULTS["STREAM_TOKEN_MAX_AGE"]
    cookie_name: str = DEFAULTS["STREAM_COOKIE_NAME"]
    allowed_origins: frozenset[str] = frozenset()
    heartbeat_seconds: float = 15.0
    retry_ms: int = 2000
    drain_window_ms: int = 5000
    max_connections: int = 10_000
    max_streams_per_user: int = 10
    client_queue_size: int = 256
    path: str = urlsplit(DEFAULTS["STREAM_URL"]).path
    redis_pool_size: int = 32
    log_level: str = "INFO"
    #: Where the shared values came from, and the disagreements found: for the log.
    source: str = field(default="the environment", compare=False)
    mismatches: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None) -> Config:
        """The configuration from the settings module ``DJANGO_SETTINGS_MODULE``
        names (if any), overridden by ``env`` (default: ``os.environ``)."""
        env = os.environ if env is None else env
        module = env.get("DJANGO_SETTINGS_MODULE", "")
        if not module:
            return cls.from_env(env)
        return cls.from_env(env, site=site_values(module), source=f"settings {module}")

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        site: Mapping[str, Any] | None = None,
        source: str = "the environment",
    ) -> Config:
        """Build the configuration from ``env`` (default: ``os.environ``) over the
        ``site``'s shared values (Config field -> value, see :func:`site_values`)."""
        env = os.environ if env is None else env
        site = site or {}
        defaults = {
            name: site.get(name, getattr(cls, name, "")) for name, _ in SHARED.values()
        }
        secret = env.get("MONITIO_STREAM_SECRET") or site.get("stream_secret") or ""
        if not secret:
            raise ConfigurationError(
                "Set MONITIO_STREAM_SECRET to the value of Django's "
                'MONITIO["STREAM_SECRET"] (or SECRET_KEY when that is unset), or '
                "DJANGO_SETTINGS_MODULE to the site's settings module."
            )
        path = env.get("MONITIO_GATEWAY_PATH") or defaults["path"]
        if not path.startswith("/"):
            raise ConfigurationError("MONITIO_GATEWAY_PATH must start with '/'.")
        config = cls(
            stream_secret=secret,
            redis_url=env.get("MONITIO_REDIS_URL") or defaults["redis_url"],
            key_prefix=env.get("MONITIO_KEY_PREFIX") or defaults["key_prefix"],
            token_max_age=_int(env, "MONITIO_STREAM_TOKEN_MAX_AGE", defaults["token_max_age"]),
            cookie_name=env.get("MONITIO_STREAM_COOKIE_NAME") or defaults["cookie_name"],
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
            source=source,
        )
        return replace(config, mismatches=_mismatches(config, site, env))


def site_values(module: str) -> dict[str, Any]:
    """The shared values (Config field -> value) of settings module ``module``.

    The module is imported and its attributes read: Django's settings machinery,
    apps and database stay untouched, so this works in the gateway's process.
    """
    try:
        settings = importlib.import_module(module)
    except ImportError as exc:
        raise ConfigurationError(
            f"DJANGO_SETTINGS_MODULE={module!r} cannot be imported ({exc}). Run the "
            "gateway where the site's code is importable, or unset it and configure "
            "the gateway with MONITIO_* variables."
        ) from exc
    try:
        values = {name: resolve(key, settings) for name, key in SHARED.values()}
    except MonitioConfigurationError as exc:
        raise ConfigurationError(f"{module}: {exc}") from exc
    values["path"] = urlsplit(str(values["path"] or "")).path or Config.path
    return values


def _mismatches(
    config: Config, site: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[str, ...]:
    """A line for each variable that overrides a different value of the site's."""
    lines = []
    for variable, (name, key) in SHARED.items():
        if name not in site or not env.get(variable):
            continue
        ours, theirs = getattr(config, name), site[name]
        if str(ours) == str(theirs):
            continue
        if name == "stream_secret":
            lines.append(
                f"{variable} differs from the site's STREAM_SECRET (or SECRET_KEY): "
                "every stream credential Django mints will be refused (401)."
            )
        else:
            shown = _redact if name == "redis_url" else str
            lines.append(
                f"{variable}={shown(str(ours))!r} overrides the site's {key} "
                f"({shown(str(theirs))!r}): {CONSEQUENCES[name]}."
            )
    return tuple(lines)


def log_summary(config: Config) -> None:
    """Log the shared values in use (the Redis URL without its password, never the
    secret), and a warning for each disagreement with the site's settings."""
    logger.info(
        "configuration from %s: Redis %s, key prefix %r, stream path %r, cookie %r, "
        "token age %ss, allowed origins %s",
        config.source,
        _redact(config.redis_url),
        config.key_prefix,
        config.path,
        config.cookie_name,
        config.token_max_age,
        " ".join(sorted(config.allowed_origins)) or "(same origin only)",
    )
    for line in config.mismatches:
        logger.warning("configuration mismatch: %s", line)


def _redact(url: str) -> str:
    """``url`` without its credentials."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


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
