"""Settings shared by every environment of the example project.

Everything that differs between machines comes from the environment:

``EXAMPLE_VAR_DIR``       ``<repo>/var``: the SQLite database, sent e-mail (``mail/``),
                          collected static files and Celery beat's schedule.
``EXAMPLE_DB``            ``$EXAMPLE_VAR_DIR/example.sqlite3``: the SQLite file.
``MONITIO_REDIS_URL``     ``redis://127.0.0.1:6379/0``: monitio's live-event Redis
                          (the gateway reads the same variable).
``MONITIO_KEY_PREFIX``    ``monitio``: prefix of monitio's Redis keys (gateway: same).
``MONITIO_STREAM_URL``    ``/sse/``: where browsers open the event stream.
``MONITIO_STREAM_SECRET`` the key stream tokens are signed with; the gateway needs
                          the same value. Unset: ``SECRET_KEY``.
``MONITIO_SITE_URL``      ``http://localhost:8000``: the site's base URL, for the
                          unsubscribe link of every e-mail.
``CELERY_BROKER_URL``     ``redis://127.0.0.1:6379/1``: Celery's broker.
``DJANGO_CACHE_URL``      ``redis://127.0.0.1:6379/2``: Django's cache, shared by the
                          web processes (monitio's state-change limit counts there).
"""

import os
from pathlib import Path

import monitio
import monitio_tasks

REPO_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("EXAMPLE_VAR_DIR", REPO_DIR / "var"))

INSTALLED_APPS = [
    # Before monitio, so that its "monitio/base.html" puts the inbox in our layout.
    "example.demo",
    "monitio",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "example.demo.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example.urls"
WSGI_APPLICATION = "example.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DB", VAR_DIR / "example.sqlite3"),
        # Web and worker processes write to the same file: wait for the lock, and
        # take it when a transaction begins (see monitio's check W006).
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"

# monitio: messages go through its storage; the rest is read from the environment
# so the web, worker and gateway processes share one configuration.
MESSAGE_STORAGE = "monitio.storage.PersistentMessageStorage"
# Django tags its own messages (one shown in the request that added it) by this.
MESSAGE_TAGS = {**monitio.MESSAGE_TAGS}
MONITIO = {
    "REDIS_URL": os.environ.get("MONITIO_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "KEY_PREFIX": os.environ.get("MONITIO_KEY_PREFIX", "monitio"),
    "STREAM_URL": os.environ.get("MONITIO_STREAM_URL", "/sse/"),
    "STREAM_SECRET": os.environ.get("MONITIO_STREAM_SECRET") or None,
    "EMAIL_SUBJECT_PREFIX": "[monitio demo] ",
    "SITE_URL": os.environ.get("MONITIO_SITE_URL", "http://localhost:8000"),
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("DJANGO_CACHE_URL", "redis://127.0.0.1:6379/2"),
    }
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/1")
# JSON only: a broker message can never make a worker unpickle code.
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A killed worker's tasks go back to the queue after 45 s (kombu's default: an hour);
# longer than monitio's longest retry delay, so a delayed retry never runs twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {**monitio_tasks.redis_transport_options}
CELERY_BEAT_SCHEDULE: dict = {}  # example/celery.py adds monitio's tasks
# Reserve enough messages for the worker to coalesce monitio's deliver tasks.
CELERY_WORKER_PREFETCH_MULTIPLIER = 64
# No remote control (nor gossip and mingle: the Procfile's --without-* flags): on a
# Redis broker they add channels to the worker's connection whose close fails while
# Redis restarts, and kombu 5.7 then closes the task channel after dropping its
# connection settings, an AttributeError that kills the worker (docs/demo.md,
# "Broker restarts"). `celery inspect` and `celery control` do not reach it.
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

DEFAULT_FROM_EMAIL = "monitio demo <notifications@example.com>"

#: Sent on every response by example.demo.middleware. No inline script anywhere:
#: monitio's client reads its configuration from a json_script block.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' {stream_origin}; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"monitio": {"handlers": ["console"], "level": "INFO"}},
}
