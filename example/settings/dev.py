"""Development settings: ``runserver`` or the Procfile on ``http://localhost``.

The gateway runs on its own port (``GATEWAY_PORT``, 8001) and the page reaches it
with CORS and credentials: the gateway's ``MONITIO_ALLOWED_ORIGINS`` lists this
site's origin (``http://localhost:8000``). Browsers send cookies to every port of a
host, so the stream cookie set by the web process reaches the gateway, as long as
both are opened as ``localhost`` (not one as ``127.0.0.1``).
"""

import os

import django

from .base import *
from .base import MONITIO, VAR_DIR

DEBUG = True
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "dev-only-secret-key-never-use-this-one-in-production-0123"
)
ALLOWED_HOSTS = ["localhost"]

GATEWAY_PORT = os.environ.get("GATEWAY_PORT", "8001")
MONITIO |= {
    "STREAM_URL": os.environ.get(
        "MONITIO_STREAM_URL", f"http://localhost:{GATEWAY_PORT}/sse/"
    ),
    "STREAM_COOKIE_SECURE": False,  # plain http on localhost
}

# Sent mail lands in files, one per message: var/mail/. Django 6.1 configures
# e-mail with MAILERS (the EMAIL_* settings are deprecated there).
_MAIL_DIR = os.environ.get("EXAMPLE_MAIL_DIR", VAR_DIR / "mail")
if django.VERSION >= (6, 1):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": _MAIL_DIR},
        }
    }
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = _MAIL_DIR
