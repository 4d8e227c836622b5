"""A monitio task starts on a usable database connection when Celery's fix-up keeps
connections between tasks (``CELERY_DB_REUSE_MAX``, docs/performance.md).

The receiver is called directly: in a full run, Celery's own fix-up may also listen
to ``task_prerun`` in this process, and it closes every connection."""

from __future__ import annotations

import time

import pytest
from celery import shared_task
from celery.signals import task_prerun
from django.db import connection

from monitio_tasks import tasks


def test_the_check_runs_before_every_task():
    # Connected with weak=False: the receiver list holds the function itself.
    assert any(r is tasks._check_connections for _, r in task_prerun.receivers)


@pytest.mark.django_db(transaction=True)
def test_an_expired_connection_is_dropped_before_a_monitio_task():
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE
    tasks._check_connections(sender=tasks.deliver)
    assert connection.connection is None


@pytest.mark.django_db(transaction=True)
def test_a_connection_in_use_is_kept():
    connection.ensure_connection()
    connection.close_at = None  # CONN_MAX_AGE = None: reused for ever
    tasks._check_connections(sender=tasks.deliver)
    assert connection.connection is not None


@pytest.mark.django_db(transaction=True)
def test_other_tasks_are_left_alone():
    @shared_task(name="tests.not_monitio")
    def other() -> None: ...

    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1
    tasks._check_connections(sender=other)
    assert connection.connection is not None
