"""System checks with stable ids; each message says what to change.

======== ===========================================================================
id       problem
======== ===========================================================================
E001     ``MESSAGE_STORAGE`` is not monitio's storage.
E002     ``MessageMiddleware`` (or ``django.contrib.messages``) is missing.
E003     ``MONITIO["REDIS_URL"]`` is empty or not a Redis URL.
E004     ``MONITIO["STATE_CHANGE_RATE"]`` is not ``None`` or a rate like ``"120/m"``.
E005     ``MONITIO["SITE_URL"]`` is not an http(s) scheme and a host alone.
W001     A Redis server monitio uses may evict keys (``maxmemory-policy`` is not
         ``noeviction``): queued tasks and event history could vanish.
W002     A Redis server monitio uses does not answer.
W003     Celery accepts or sends pickle (tasks must be JSON only).
W004     The broker's ``visibility_timeout`` is shorter than the longest task retry.
W005     (deploy) the stream cookie is not ``Secure``.
W006     The database messages are written to is SQLite without
         ``"transaction_mode": "IMMEDIATE"``: a request that reads then
         writes fails at once with "database is locked" when the worker is writing.
W007     ``MONITIO["SITE_URL"]`` is not set: e-mails carry no unsubscribe link and no
         link back to the message (silence it if the site sends no e-mail).
W008     (deploy) ``MONITIO["SITE_URL"]`` is not https: RFC 8058 wants an HTTPS
         one-click unsubscribe link.
W012     ``MESSAGE_TAGS`` leaves a level of monitio's untagged: Django's own messages
         at it (one shown in the request that added it, a plain ``monitio.DEBUG``
         one) have no level tag.
E010     ``STREAM_COOKIE_PATH`` does not cover the path of ``STREAM_URL``: the browser
         never sends the stream credential, and every stream is refused.
W010     (``DEBUG`` on) ``STREAM_URL`` is a path on this site that nothing in the
         URLconf serves: under ``runserver`` no message arrives live.
W011     A gateway recorded in Redis another stream secret, cookie name or path than
         these settings give: it refuses every stream this site opens.
W020     The kombu accelerator is on but the installed kombu is not the release it
         was tested with: messages go through ``apply_async`` instead.
W021     The Celery accelerator is on but the installed Celery is not the release it
         was tested with: the worker runs ``deliver`` calls one by one instead.
W022     The Django accelerator is on but the installed Django is not a release it
         was tested with: a request that adds messages reads the user's rows too.
======== ===========================================================================
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core import checks
from django.utils.module_loading import import_string

from monitio_tasks.tasks import RETRY_BACKOFF_MAX

from .conf import settings

STORAGE = "monitio.storage.PersistentMessageStorage"
#: django-ratelimit's rate: a count per (optionally several) seconds, minutes, hours or days.
RATE = re.compile(r"\d+/\d*[smhd]")
MIDDLEWARE = "django.contrib.messages.middleware.MessageMiddleware"


@checks.register("monitio")
def check_setup(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    storage = getattr(django_settings, "MESSAGE_STORAGE", "")
    if not _is_monitio_storage(storage):
        errors.append(checks.Error(
            f"MESSAGE_STORAGE is {storage!r}, so monitio never sees your messages.",
            hint=f'Set MESSAGE_STORAGE = "{STORAGE}".', id="monitio.E001",
        ))
    if MIDDLEWARE not in django_settings.MIDDLEWARE or (
        "django.contrib.messages" not in django_settings.INSTALLED_APPS
    ):
        errors.append(checks.Error(
            "monitio needs Django's messages framework.",
            hint=f'Add "django.contrib.messages" to INSTALLED_APPS and "{MIDDLEWARE}" to MIDDLEWARE.',
            id="monitio.E002",
        ))
    url = settings.REDIS_URL
    if not url or not str(url).startswith(("redis://", "rediss://", "unix://")):
        errors.append(checks.Error(
            f'MONITIO["REDIS_URL"] is {url!r}.',
            hint='Set MONITIO["REDIS_URL"], e.g. "redis://127.0.0.1:6379/0".', id="monitio.E003",
        ))
    rate = settings.STATE_CHANGE_RATE
    if rate is not None and not (isinstance(rate, str) and RATE.fullmatch(rate)):
        errors.append(checks.Error(
            f'MONITIO["STATE_CHANGE_RATE"] is {rate!r}.',
            hint='Give a count per period, e.g. "120/m" (s, m, h or d), or None for no limit.',
            id="monitio.E004",
        ))
    return errors


def _is_monitio_storage(path: str) -> bool:
    if path == STORAGE:
        return True
    try:
        from .storage import PersistentMessageStorage

        return issubclass(import_string(path), PersistentMessageStorage)
    except (ImportError, TypeError):
        return False


@checks.register("monitio")
def check_redis(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    warnings = []
    for name, url in _redis_urls().items():
        policy = _eviction_policy(url)
        if policy is None:
            warnings.append(checks.Warning(
                f"{name} Redis at {_redact(url)} does not answer.",
                hint="Start Redis, or fix the URL; messages are kept in the outbox meanwhile.",
                id="monitio.W002",
            ))
        elif policy != "noeviction":
            warnings.append(checks.Warning(
                f"{name} Redis at {_redact(url)} has maxmemory-policy {policy!r}: it may "
                "evict queued tasks or event history.",
                hint="Set maxmemory-policy noeviction on that server.", id="monitio.W001",
            ))
    return warnings


def _redis_urls() -> dict[str, str]:
    urls = {}
    if settings.REDIS_URL and str(settings.REDIS_URL).startswith(("redis://", "rediss://", "unix://")):
        urls["monitio's"] = settings.REDIS_URL
    broker = _celery_conf().broker_url or ""
    if broker.startswith(("redis://", "rediss://")):
        urls["Celery's broker"] = broker
    return urls


def _eviction_policy(url: str) -> str | None:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            value = next(iter(client.config_get("maxmemory-policy").values()), b"")
            return value.decode() if isinstance(value, bytes) else value
        finally:
            client.close()
    except redis.exceptions.ResponseError:
        return "noeviction"  # CONFIG is disabled (managed Redis): nothing to tell.
    except (redis.exceptions.RedisError, OSError):
        return None


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}"


def _celery_conf():
    from celery import current_app

    return current_app.conf


@checks.register("monitio")
def check_celery(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    conf = _celery_conf()
    problems = []
    formats = {conf.task_serializer, conf.result_serializer, *conf.accept_content}
    if "pickle" in formats or "application/x-python-serialize" in formats:
        problems.append(checks.Warning(
            "Celery is configured to send or accept pickle.",
            hint='Set CELERY_TASK_SERIALIZER = "json" and CELERY_ACCEPT_CONTENT = ["json"].',
            id="monitio.W003",
        ))
    timeout = (conf.broker_transport_options or {}).get("visibility_timeout", 3600)
    if (conf.broker_url or "").startswith(("redis", "rediss")) and timeout <= RETRY_BACKOFF_MAX:
        problems.append(checks.Warning(
            f"The broker's visibility_timeout ({timeout}s) is not longer than monitio's "
            f"longest retry delay ({RETRY_BACKOFF_MAX}s): delayed retries would run twice.",
            hint="Set CELERY_BROKER_TRANSPORT_OPTIONS = {**monitio_tasks.redis_transport_options} "
            '(or raise its "visibility_timeout").', id="monitio.W004",
        ))
    return problems


@checks.register("monitio")
def check_sqlite(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from django.db import connections, router

    from .models import Message

    alias = router.db_for_write(Message)
    conf = django_settings.DATABASES.get(alias, {})
    if connections[alias].vendor != "sqlite":
        return []
    if str(conf.get("OPTIONS", {}).get("transaction_mode", "")).upper() == "IMMEDIATE":
        return []
    return [checks.Warning(
        f'Database "{alias}" is SQLite with deferred transactions: the web process and '
        "the Celery worker both write to it, and a transaction that reads before it "
        'writes then fails at once with "database is locked" (the timeout is not used).',
        hint=f'Add "transaction_mode": "IMMEDIATE" to DATABASES["{alias}"]["OPTIONS"].',
        id="monitio.W006",
    )]


@checks.register("monitio", deploy=True)
def check_deploy(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.STREAM_COOKIE_SECURE:
        return []
    return [checks.Warning(
        "The stream cookie is sent over plain HTTP.",
        hint='Set MONITIO["STREAM_COOKIE_SECURE"] = True in production.', id="monitio.W005",
    )]


@checks.register("monitio")
def check_stream_url(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Whether a page's stream would reach a gateway with its credential."""
    from django.urls import Resolver404, resolve

    url = urlsplit(str(settings.STREAM_URL))
    path, cookie_path = url.path or "/", str(settings.STREAM_COOKIE_PATH or "/")
    problems = []
    if not path.startswith(cookie_path):
        problems.append(checks.Error(
            f'MONITIO["STREAM_COOKIE_PATH"] is {cookie_path!r}, so the browser never sends '
            f"the stream credential to {path!r} (STREAM_URL): every stream is refused.",
            hint=f'Set MONITIO["STREAM_COOKIE_PATH"] = {path!r}.', id="monitio.E010",
        ))
    if django_settings.DEBUG and not url.scheme:
        try:
            resolve(path)
        except Resolver404:
            problems.append(checks.Warning(
                f'MONITIO["STREAM_URL"] is {settings.STREAM_URL!r}, a path on this site, and '
                "nothing in your URLconf serves it: pages served by runserver open a stream "
                "that answers 404, and no message arrives live.",
                hint='In development, run "python manage.py monitio_gateway" and set '
                'MONITIO["STREAM_URL"] = "http://localhost:8001/sse/" and '
                '"STREAM_COOKIE_SECURE": False, then open the site as http://localhost:8000. '
                "Behind a proxy that routes this path to the gateway, add "
                '"monitio.W010" to SILENCED_SYSTEM_CHECKS.',
                id="monitio.W010",
            ))
    return problems


_FINGERPRINT_FIELDS = {
    "secret": "stream secret (STREAM_SECRET, else SECRET_KEY)",
    "cookie_name": "cookie name (STREAM_COOKIE_NAME)",
    "path": "stream path (the path of STREAM_URL)",
}


@checks.register("monitio")
def check_gateway_fingerprint(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Whether the gateway that last started on this Redis and prefix agrees with us."""
    import redis

    from .conf import fingerprint_key, stream_fingerprint

    key = fingerprint_key(settings.KEY_PREFIX)
    if "monitio's" not in _redis_urls():
        return []  # monitio.E003 says so
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5,
            decode_responses=True,
        )
        try:
            recorded = client.hgetall(key)
        finally:
            client.close()
    except (redis.exceptions.RedisError, OSError):
        return []  # monitio.W002 says so
    ours = stream_fingerprint(
        settings.STREAM_SECRET, settings.STREAM_COOKIE_NAME,
        urlsplit(str(settings.STREAM_URL)).path or "/",
    )
    differing = [
        label for name, label in _FINGERPRINT_FIELDS.items()
        if name in recorded and recorded[name] != ours[name]
    ]
    if not differing:
        return []
    return [checks.Warning(
        f"A gateway started on this Redis (key {key!r}) with another "
        f"{', '.join(differing)} than these settings: it refuses every stream this "
        "site opens (401, or 404 for the path).",
        hint="Run the gateway with DJANGO_SETTINGS_MODULE set to these settings (or "
        '"manage.py monitio_gateway") so it reads them, or make its MONITIO_* '
        f"variables match. Its record lasts 7 days; delete {key!r} to forget a gateway "
        "that no longer runs.",
        id="monitio.W011",
    )]


@checks.register("monitio")
def check_level_tags(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from django.contrib.messages.utils import get_level_tags

    from . import constants

    untagged = sorted(set(constants.DEFAULT_TAGS) - set(get_level_tags()))
    if not untagged:
        return []
    return [checks.Warning(
        f"MESSAGE_TAGS gives no tag to monitio's levels {untagged}: a message shown in "
        "the request that added it is Django's own Message, tagged by Django, so it "
        "gets no level tag (nor does a plain monitio.DEBUG one on a later page).",
        hint="Set MESSAGE_TAGS = {**monitio.MESSAGE_TAGS} (add your own after it).",
        id="monitio.W012",
    )]


@checks.register("monitio")
def check_site_url(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    url = settings.SITE_URL
    if not url:
        return [checks.Warning(
            'MONITIO["SITE_URL"] is not set, so e-mails carry no unsubscribe link and '
            "no link back to the message.",
            hint='Set MONITIO["SITE_URL"] = "https://your.site" (or silence monitio.W007 if '
            "you send no e-mail).",
            id="monitio.W007",
        )]
    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
        return [checks.Error(
            f'MONITIO["SITE_URL"] is {url!r:.100}, not a scheme and a host alone: links '
            "in e-mails are this and a path of the site's URLconf.",
            hint='Give the scheme and host, e.g. "https://example.com".', id="monitio.E005",
        )]
    return []


@checks.register("monitio", deploy=True)
def check_site_url_https(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    url = settings.SITE_URL
    if not url or urlsplit(str(url)).scheme != "http":
        return []
    return [checks.Warning(
        'MONITIO["SITE_URL"] is plain http: mail providers expect an https one-click '
        "unsubscribe link (RFC 8058).",
        hint='Use an "https://" SITE_URL in production.', id="monitio.W008",
    )]


@checks.register("monitio")
def check_accelerators(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    import celery
    import django
    import kombu

    from . import _compat
    from ._compat import celery as celery_accelerator
    from ._compat import django as django_accelerator
    from ._compat import kombu as kombu_accelerator

    problems = []
    for library, installed, tested, check_id in (
        ("kombu", kombu.VERSION, kombu_accelerator.TESTED, "monitio.W020"),
        ("celery", celery.VERSION, celery_accelerator.TESTED, "monitio.W021"),
        ("django", django.VERSION, django_accelerator.TESTED, "monitio.W022"),
    ):
        reason = _compat.untested(library, tuple(installed[:3]), tested)
        if _compat.enabled(library) and reason is not None:
            problems.append(checks.Warning(
                reason,
                hint=f"Install {library} {_compat.tested_names(tested)}, or set "
                f'MONITIO["ACCELERATORS"] = {{"{library}": False}} to silence this.',
                id=check_id,
            ))
    return problems
