"""Fixtures for the web layer's tests: two users, their messages, logged-in clients."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
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
