"""Fixtures shared by the whole suite (the real Redis, a Celery worker in a thread,
users), and the suite's two tiers.

The folder decides the tier. ``tests/fast/`` runs in this process: Django's test
client, the real Redis, at most a Celery worker in a thread and a throwaway
``redis-server``. ``tests/process/`` (marker ``integration``, set here from the folder)
also runs gunicorn, gateways, ``celery worker`` processes, nginx or Chromium; its
fixtures are in ``tests/process/conftest.py``, out of the fast tier's reach. A
fast-tier test that starts one of :data:`PROCESS_PROGRAMS` fails, so the tiers can't
drift. ``pytest tests/fast`` (or ``-m "not integration"``) runs the fast tier,
``pytest tests/process`` (or ``-m integration``) the other.
"""

from __future__ import annotations

import itertools
import os
import shlex
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.test import Client
from django.utils import timezone

from monitio import INFO
from monitio.conf import settings as monitio_settings
from monitio.models import Message
from tests import procs
from tests.celery_app import app as test_celery_app

#: The tiers' folders: ``tests/<tier>/<suite>/``.
TIERS = ("fast", "process")

#: Programs and modules a fast-tier test may not start (``node`` is Playwright's driver).
PROCESS_PROGRAMS = frozenset({"gunicorn", "celery", "sse_gateway", "nginx", "chromium", "node", "honcho"})

_TESTS = Path(__file__).resolve().parent
_running: list[pytest.Item] = []
_seconds = itertools.count()


def tier(item: pytest.Item) -> str:
    """``fast`` or ``process``: the folder under ``tests/`` the test is in."""
    return item.path.relative_to(_TESTS).parts[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # tryfirst: before ``-m`` deselects by marker.
    for item in items:
        if tier(item) not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in tests/fast/ or tests/process/")
        if tier(item) == "fast" and item.get_closest_marker("integration") is not None:
            raise pytest.UsageError(f"{item.nodeid}: marked integration but in tests/fast/")
        if tier(item) == "process":
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
    if event != "subprocess.Popen" or not _running or tier(_running[-1]) == "process":
        return
    argv = args[1] if isinstance(args[1], (list, tuple)) else [args[1] or args[0]]
    words = [w for arg in argv for w in shlex.split(os.fsdecode(arg))]
    started = PROCESS_PROGRAMS.intersection(os.path.basename(w) for w in words)
    if started:
        raise RuntimeError(
            f"{_running[-1].nodeid} is in the fast tier but starts {', '.join(sorted(started))}: "
            "move it to tests/process/"
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
def worker(transactional_db, redis_client, broker_client):
    """A real Celery worker consuming the real Redis broker, in a thread of this process."""
    with start_worker(test_celery_app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30):
        yield


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


@pytest.fixture
def make_message():
    """Create a stored message directly, each one a second newer than the last."""
    base = timezone.now() - timedelta(days=1)

    def make(user, text="hello", **fields) -> Message:
        fields.setdefault("level", INFO)
        fields.setdefault("created", base + timedelta(seconds=next(_seconds)))
        return Message.objects.create(user=user, message=text, **fields)

    return make


@pytest.fixture(autouse=True)
def _fresh_state():
    """monitio's settings are read afresh, and Django's cache (where django-ratelimit
    counts state changes) starts empty."""
    from django.core.cache import cache

    monitio_settings.reload()
    cache.clear()
    yield
    monitio_settings.reload()


@pytest.fixture
def accelerators_on(settings):
    """monitio's accelerators on, whatever MONITIO_TEST_ACCELERATORS says: for tests of
    what only they do."""
    settings.MONITIO = {**settings.MONITIO, "ACCELERATORS": True}


def pytest_sessionfinish(session, exitstatus):
    procs.stop_all()
