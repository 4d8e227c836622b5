"""Fixtures for the web layer's tests: two users, their messages, logged-in clients."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from monitio import INFO
from monitio.models import Message

_seconds = itertools.count()


@pytest.fixture
def make_message():
    """Create a stored message directly, each one a second newer than the last."""
    base = timezone.now() - timedelta(days=1)

    def make(user, text="hello", **fields) -> Message:
        fields.setdefault("level", INFO)
        fields.setdefault("created", base + timedelta(seconds=next(_seconds)))
        return Message.objects.create(user=user, message=text, **fields)

    return make


@pytest.fixture
def alice_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def csrf_client(alice) -> Client:
    """Alice's browser, with CSRF enforced as in production."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client
