"""Fixtures shared by the whole suite (the real Redis, a real Celery worker, users),
and the suite's two tiers.

The fast tier runs in this process: Django's test client, the real Redis, at most a
Celery worker in a thread and a throwaway ``redis-server``. The process tier (marker
``integration``) also runs gunicorn, gateways, ``celery worker`` processes, nginx or
Chromium. A test is in the process tier when it is in one of :data:`PROCESS_FOLDERS`,
uses one of :data:`PROCESS_FIXTURES` or is marked ``integration`` by hand; a fast-tier
test that starts one of :data:`PROCESS_PROGRAMS` fails, so the tiers can't drift.
``pytest -m "not integration"`` runs the fast tier, ``pytest -m integration`` the other.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.test import Client

from monitio.conf import settings as monitio_settings
from tests import procs
from tests.celery_app import app as test_celery_app

#: Folders whose every test runs real processes.
PROCESS_FOLDERS = frozenset({"e2e", "faults", "integration"})

#: Fixtures that start gunicorn, a gateway, a ``celery worker``, nginx or Chromium.
PROCESS_FIXTURES = frozenset({"worker_process", "start_gateway", "start_nginx", "chromium", "stack"})

#: Programs and modules a fast-tier test may not start (``node`` is Playwright's driver).
PROCESS_PROGRAMS = frozenset({"gunicorn", "celery", "sse_gateway", "nginx", "chromium", "node", "honcho"})

_TESTS = Path(__file__).resolve().parent
_running: list[pytest.Item] = []


def in_process_tier(item: pytest.Item) -> bool:
    folder = item.path.relative_to(_TESTS).parts[0]
    return (
        folder in PROCESS_FOLDERS
        or not PROCESS_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
        or item.get_closest_marker("integration") is not None
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # tryfirst: before ``-m`` deselects by marker.
    for item in items:
        if in_process_tier(item):
            item.add_marker(pytest.mark.integration)
            fixtures = getattr(item, "fixturenames", ())
            if "db" in fixtures and "transactional_db" not in fixtures:
                # Its other processes read the database, and on-commit work (sends,
                # revocations) must run: its transactions commit.
                item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item):
    _running.append(item)
    try:
        return (yield)
    finally:
        _running.pop()


def _refuse_processes_in_the_fast_tier(event: str, args: tuple) -> None:
    if event != "subprocess.Popen" or not _running or in_process_tier(_running[-1]):
        return
    argv = args[1] if isinstance(args[1], (list, tuple)) else [args[1] or args[0]]
    words = [w for arg in argv for w in shlex.split(os.fsdecode(arg))]
    started = PROCESS_PROGRAMS.intersection(os.path.basename(w) for w in words)
    if started:
        raise RuntimeError(
            f"{_running[-1].nodeid} is in the fast tier but starts {', '.join(sorted(started))}: "
            "use a process fixture, mark it integration or move it to a process-tier folder"
        )


sys.addaudithook(_refuse_processes_in_the_fast_tier)


@pytest.fixture
def redis_client() -> redis.Redis:
    """The Redis that holds monitio's events, emptied for each test."""
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    client.flushdb()
    from monitio import publish

    publish.reset_client()
    yield client
    client.close()


@pytest.fixture
def broker_client() -> redis.Redis:
    """The Celery broker's Redis database, emptied for each test."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def celery_app():
    return test_celery_app


@pytest.fixture
def worker(transactional_db, redis_client, broker_client, celery_app):
    """A real Celery worker consuming the real Redis broker, in a thread of this process."""
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30):
        yield


@pytest.fixture
def worker_process(transactional_db, redis_client, broker_client, tmp_path):
    """A real ``celery worker`` subprocess (prefork), sharing the test database."""
    proc = procs.celery_worker(tmp_path / "worker.log")
    yield proc
    procs.stop(proc)


@pytest.fixture
def alice(db):
    """A user; committed in the process tier (see pytest_collection_modifyitems)."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("alice", "alice@example.com", "pw")


@pytest.fixture
def bob(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("bob", "bob@example.com", "pw")


@pytest.fixture
def alice_client(alice) -> Client:
    """Alice's browser, logged in."""
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def csrf_client(alice) -> Client:
    """Alice's browser, with CSRF enforced as in production."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


@pytest.fixture(autouse=True)
def _fresh_monitio_settings():
    monitio_settings.reload()
    yield
    monitio_settings.reload()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Django's cache (where django-ratelimit counts state changes) starts empty."""
    from django.core.cache import cache

    cache.clear()


def pytest_sessionfinish(session, exitstatus):
    procs.stop_all()
