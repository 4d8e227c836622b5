"""Production settings: behind nginx over HTTPS, the gateway on the same origin.

``python example/manage.py check --deploy`` passes with no warning when these are set:

``DJANGO_SECRET_KEY``      a long random string (``python -c "import secrets;
                           print(secrets.token_urlsafe(50))"``).
``DJANGO_ALLOWED_HOSTS``   comma-separated host names, e.g. ``app.example.com``.
``MONITIO_STREAM_SECRET``  another long random string, given to the gateway too.
``MONITIO_REDIS_URL``,     Redis URLs (see ``base``); both must answer, with
``CELERY_BROKER_URL``      ``maxmemory-policy noeviction``.
``EMAIL_HOST``, ``EMAIL_PORT``, ``EMAIL_HOST_USER``, ``EMAIL_HOST_PASSWORD``
                           the SMTP relay (port 587, STARTTLS).
``MONITIO_SITE_URL``       the site's https base URL, for e-mails' links (the message,
                           the unsubscribe page);
                           unset: ``https://`` and the first ``DJANGO_ALLOWED_HOSTS``.

nginx serves ``/static/`` from ``STATIC_ROOT`` (run ``collectstatic``), proxies
``/sse/`` to the gateway and everything else to gunicorn (docs/demo.md).
"""

import os

import django
from django.core.exceptions import ImproperlyConfigured

from .base import *


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"Set the {name} environment variable.")
    return value


DEBUG = False
SECRET_KEY = _required("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h]

# nginx terminates TLS and says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

# A key of its own, so the gateway never holds SECRET_KEY. base reads it into MONITIO;
# the stream cookie is Secure by default.
_required("MONITIO_STREAM_SECRET")
MONITIO |= {
    "SITE_URL": os.environ.get("MONITIO_SITE_URL")
    or (f"https://{ALLOWED_HOSTS[0]}" if ALLOWED_HOSTS else None),
}

# The SMTP relay: MAILERS on Django 6.1 (the EMAIL_* settings are deprecated there).
_SMTP = {
    "host": os.environ.get("EMAIL_HOST", "localhost"),
    "port": int(os.environ.get("EMAIL_PORT", "587")),
    "username": os.environ.get("EMAIL_HOST_USER", ""),
    "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
    "use_tls": True,
}
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": _SMTP}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST, EMAIL_PORT = _SMTP["host"], _SMTP["port"]
    EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = _SMTP["username"], _SMTP["password"]
    EMAIL_USE_TLS = _SMTP["use_tls"]
