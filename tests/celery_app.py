"""The Celery app of the test project, configured from Django settings like any site's."""

import os

from celery import Celery

import monitio_tasks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

app = Celery("tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["monitio_tasks"])
app.conf.beat_schedule = monitio_tasks.beat_schedule
