"""The example project's WSGI entry point: ``gunicorn example.wsgi:application``."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings.dev")

application = get_wsgi_application()
# A full garbage collection then skips the ~70,000 objects of the loaded project,
# which would stall the request in progress (docs/performance.md).
gc.freeze()
