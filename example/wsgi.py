"""The example project's WSGI entry point: ``gunicorn example.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings.dev")

application = get_wsgi_application()
