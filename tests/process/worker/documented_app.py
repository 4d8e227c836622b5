"""The documented set-up, on the test project: the example project's Celery settings
(broker transport options, prefetch, remote control...) with the test project's
database and servers. Run it with the Procfile's worker and beat command lines
(:func:`tests.process.worker.procfile.start`)."""

import os

from celery import Celery
from django.conf import settings

import monitio_tasks
from tests.process.worker.procfile import example_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

app = Celery("tests-documented")
app.config_from_object(example_settings(), namespace="CELERY")
app.conf.broker_url = settings.CELERY_BROKER_URL
app.conf.beat_schedule = monitio_tasks.beat_schedule
app.autodiscover_tasks(["monitio_tasks"])
