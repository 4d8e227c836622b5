"""The test settings with Django's SMTP backend aimed at the test's SMTP sink."""

import os

import django

from tests.settings import *

_smtp = {"host": "127.0.0.1", "port": int(os.environ["MONITIO_TEST_SMTP_PORT"]), "timeout": 5}
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": _smtp}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST, EMAIL_PORT, EMAIL_TIMEOUT = _smtp["host"], _smtp["port"], _smtp["timeout"]
