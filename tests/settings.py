"""Settings for monitio's test suite.

``DATABASE_URL`` picks the database (SQLite by default; the CI also runs
``postgres://postgres@127.0.0.1:5432/test``). ``MONITIO_TEST_REDIS_URL`` is the Redis
the tests use for events; the Celery broker is another database on the same server.
"""

import os

import dj_database_url
import django

import monitio

SECRET_KEY = "monitio-tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "sqlite:///" + os.path.join(os.path.dirname(__file__), "test.sqlite3"))
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: worker and gateway subprocesses open the same database.
    # IMMEDIATE: a transaction takes the write lock when it begins, waiting up to the
    # timeout; a deferred one that reads first fails at once when another process
    # writes meanwhile (monitio.W006).
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get(
            "MONITIO_TEST_SQLITE", os.path.join(os.path.dirname(__file__), "test_db.sqlite3")
        )
    }

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "monitio",
]

MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
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

STATIC_URL = "/static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
_email_backend = os.environ.get("MONITIO_TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
_email_dir = os.environ.get("MONITIO_TEST_EMAIL_DIR", "/tmp/monitio-test-mail")
if django.VERSION >= (6, 1):
    # Django 6.1 configures e-mail with MAILERS and deprecates the EMAIL_* settings.
    _email_options = {"file_path": _email_dir} if _email_backend.endswith(".filebased.EmailBackend") else {}
    MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _email_options}}
else:
    EMAIL_BACKEND = _email_backend
    EMAIL_FILE_PATH = _email_dir
DEFAULT_FROM_EMAIL = "notifications@example.com"

MESSAGE_STORAGE = "monitio.storage.PersistentMessageStorage"
# Django tags its own messages (one shown in the request that added it) by this.
MESSAGE_TAGS = {**monitio.MESSAGE_TAGS}

REDIS_URL = os.environ.get("MONITIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
CELERY_BROKER_URL = os.environ.get("MONITIO_TEST_BROKER_URL", "redis://127.0.0.1:6379/14")
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

MONITIO = {
    "REDIS_URL": REDIS_URL,
    "KEY_PREFIX": "monitio-test",
    "STREAM_SECRET": "stream-secret-for-tests",
    "STREAM_COOKIE_SECURE": False,
    "SITE_URL": "http://testserver",
    # MONITIO_TEST_ACCELERATORS=0 runs the suite on the public path alone.
    "ACCELERATORS": os.environ.get("MONITIO_TEST_ACCELERATORS", "1") != "0",
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING_CONFIG = None
