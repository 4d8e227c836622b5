"""The test settings with Django's SMTP backend aimed at the test's SMTP sink."""

import os

from tests.settings import *

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ["MONITIO_TEST_SMTP_PORT"])
EMAIL_TIMEOUT = 5
