"""A monitio task starts on a usable database connection when Celery's fix-up keeps
connections between tasks (``CELERY_DB_REUSE_MAX``, docs/performance.md)."""

from __future__ import annotations

import time

import pytest
from celery.signals import task_prerun
from django.db import connection

from monitio_tasks import tasks


def _prerun(task) -> None:
    task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})


@pytest.mark.django_db(transaction=True)
def test_an_expired_connection_is_dropped_before_a_monitio_task():
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE
    _prerun(tasks.deliver)
    assert connection.connection is None


@pytest.mark.django_db(transaction=True)
def test_a_connection_in_use_is_kept():
    connection.ensure_connection()
    connection.close_at = None  # CONN_MAX_AGE = None: reused for ever
    _prerun(tasks.deliver)
    assert connection.connection is not None


@pytest.mark.django_db(transaction=True)
def test_other_tasks_are_left_alone():
    from celery import shared_task

    @shared_task(name="tests.not_monitio")
    def other() -> None: ...

    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1
    _prerun(other)
    assert connection.connection is not None
