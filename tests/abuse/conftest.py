"""Fixtures of the abuse suite: the gateway suite's gateway and Redis fixtures, the
fault suite's private nginx, the e2e suite's ``login`` (its ``stack`` and
``chromium`` are module-scoped in ``test_xss.py``); ``alice`` and ``bob`` are the
suite's (``tests/conftest.py``)."""

from __future__ import annotations

from django.test import Client

from tests.e2e.conftest import login  # noqa: F401 - fixture
from tests.faults.conftest import start_nginx  # noqa: F401 - fixture (raises fd limit)
from tests.gateway.conftest import redis_db, start_gateway, streams  # noqa: F401


def browser_for(user) -> Client:
    """A logged-in browser with CSRF checks on, as in production."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client
