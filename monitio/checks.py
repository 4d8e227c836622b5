"""System checks with stable ids; each message says what to change.

======== ===========================================================================
id       problem
======== ===========================================================================
E001     ``MESSAGE_STORAGE`` is not monitio's storage.
E002     ``MessageMiddleware`` (or ``django.contrib.messages``) is missing.
E003     ``MONITIO["REDIS_URL"]`` is empty or not a Redis URL.
E004     ``MONITIO["STATE_CHANGE_RATE"]`` is not ``None`` or a rate like ``"120/m"``.
W001     A Redis server monitio uses may evict keys (``maxmemory-policy`` is not
         ``noeviction``): queued tasks and event history could vanish.
W002     A Redis server monitio uses does not answer.
W003     Celery accepts or sends pickle (tasks must be JSON only).
W004     The broker's ``visibility_timeout`` is shorter than the longest task retry.
W005     (deploy) the stream cookie is not ``Secure``.
W006     The database messages are written to is SQLite without
         ``"transaction_mode": "IMMEDIATE"`` (Django 5.1+): a request that reads then
         writes fails at once with "database is locked" when the worker is writing.
======== ===========================================================================
"""

from __future__ import annotations

import re

from django.conf import settings as django_settings
from django.core import checks
from django.utils.module_loading import import_string

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
    from monitio_tasks.tasks import RETRY_BACKOFF_MAX

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
    import django
    from django.db import connections, router

    from .models import Message

    alias = router.db_for_write(Message)
    conf = django_settings.DATABASES.get(alias, {})
    if django.VERSION < (5, 1) or connections[alias].vendor != "sqlite":
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
