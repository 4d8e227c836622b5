"""Fixtures of the abuse suite: the gateway suite's gateway and Redis fixtures, the
fault suite's private nginx, the e2e suite's ``login`` (its ``stack`` and
``chromium`` are module-scoped in ``test_xss.py``), and two users."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.e2e.conftest import login  # noqa: F401 - fixture
from tests.faults.conftest import start_nginx  # noqa: F401 - fixture (raises fd limit)
from tests.gateway.conftest import redis_db, start_gateway, streams  # noqa: F401


@pytest.fixture
def alice(transactional_db):
    return get_user_model().objects.create_user("alice", "alice@example.com", "pw")


@pytest.fixture
def bob(transactional_db):
    return get_user_model().objects.create_user("bob", "bob@example.com", "pw")


def browser_for(user) -> Client:
    """A logged-in browser with CSRF checks on, as in production."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client
