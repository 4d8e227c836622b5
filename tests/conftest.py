"""Fixtures shared by the whole suite: the real Redis, a real Celery worker, users."""

from __future__ import annotations

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from monitio.conf import settings as monitio_settings
from tests import procs
from tests.celery_app import app as test_celery_app


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
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("alice", "alice@example.com", "pw")


@pytest.fixture
def bob(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("bob", "bob@example.com", "pw")


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
