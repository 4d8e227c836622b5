"""The security suite's process tier; its fixtures are the process tier's
(``tests/process/conftest.py``)."""

from __future__ import annotations

from django.test import Client


def browser_for(user) -> Client:
    """A logged-in browser with CSRF checks on, as in production."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client
