"""Django settings for the benchmarks: the test project, on a SQLite file of its own.

``BENCH_REDIS_URL`` is the benchmark's own Redis server (events in database 0, the
Celery broker in database 1); ``BENCH_BROKER_URL`` gives Celery another broker
(e.g. ``amqp://guest:guest@127.0.0.1:5672//``) and ``BENCH_QUEUE`` a queue of the
run's own there. SQLite runs in WAL mode, as a site on SQLite should;
``BENCH_DATABASE_URL`` points the benchmarks at another database instead (its data
is replaced: the benchmarks migrate it and create users).
"""

import os
from pathlib import Path

from tests.email_backends import backend_settings
from tests.settings import *

HERE = Path(__file__).resolve().parent
_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6399")

_RUN = os.environ.get("BENCH_RUN", str(HERE / "run"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_SQLITE", os.path.join(_RUN, "bench.sqlite3")),
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}
if os.environ.get("BENCH_DATABASE_URL"):  # e.g. postgres://user@127.0.0.1/bench
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["BENCH_DATABASE_URL"])}
# Registers the kind bench_pipeline's preferences variant sends (bench/apps.py).
INSTALLED_APPS = [*INSTALLED_APPS, "bench.apps.BenchConfig"]
ROOT_URLCONF = "bench.urls"
REDIS_URL = f"{_REDIS}/0"
CELERY_BROKER_URL = os.environ.get("BENCH_BROKER_URL") or f"{_REDIS}/1"
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("BENCH_QUEUE") or "celery"
# Let the worker reserve enough messages for monitio to coalesce deliver tasks
# into batches (the Celery accelerator, monitio._compat.celery); see ARCHITECTURE.md,
# "The worker".
CELERY_WORKER_PREFETCH_MULTIPLIER = 64
MONITIO = {
    "REDIS_URL": REDIS_URL,
    "KEY_PREFIX": "bench",
    "STREAM_SECRET": "bench-stream-secret",
    "STREAM_COOKIE_SECURE": False,
    # As the test settings: MONITIO_TEST_ACCELERATORS=0 measures the public path alone.
    "ACCELERATORS": MONITIO["ACCELERATORS"],
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Persistent connections, as a production worker would run: Celery's Django fix-up
# closes the database connection before and after every task unless
# CELERY_DB_REUSE_MAX is set (then every 2 x that many tasks); CONN_MAX_AGE alone does
# not stop it (docs/performance.md).
DATABASES["default"]["CONN_MAX_AGE"] = 600
CELERY_DB_REUSE_MAX = 500
if os.environ.get("BENCH_SMTP_PORT"):  # bench_digest's SMTP sink
    # MAILERS on Django 6.1+, the EMAIL_* settings before (as tests.settings does).
    globals().update(backend_settings(
        "django.core.mail.backends.smtp.EmailBackend",
        host="127.0.0.1", port=int(os.environ["BENCH_SMTP_PORT"]), timeout=30,
    ))
    MONITIO = {**MONITIO, "SITE_URL": "https://bench.example"}  # absolute links, unsubscribe
