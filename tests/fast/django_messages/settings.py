"""Settings for Django's own ``messages_tests`` run on monitio's storage.

monitio's test settings, with ``MESSAGE_STORAGE`` still monitio's, plus the app and
the middleware Django's ``runtests.py`` gives those tests. The test database is a
private one: this run may overlap a pytest session's.
"""

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "messages_tests"]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "messages_tests.urls"

# Django's default logging, as runtests.py has it: the errors some tests provoke on
# purpose are not printed.
LOGGING_CONFIG = "logging.config.dictConfig"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": ""}  # in memory
else:
    DATABASES["default"]["TEST"] = {"NAME": "test_monitio_django_messages"}
