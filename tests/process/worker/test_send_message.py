"""``manage.py send_message`` queues a message that a real Celery worker stores."""

from __future__ import annotations

import time
from io import StringIO

from django.core.management import call_command

from monitio import WARNING
from monitio.models import Message


def _wait_for_row(**lookup) -> Message:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = Message.objects.filter(**lookup).first()
        if row is not None:
            return row
        time.sleep(0.05)
    raise AssertionError(f"no message matching {lookup} was stored")


def test_sends_a_message_through_the_worker(worker, alice, bob):
    out = StringIO()
    call_command(
        "send_message",
        "alice",
        "bob",
        "warning",
        "the",
        "disk",
        "is",
        "full",
        stdout=out,
    )
    row = _wait_for_row(user=bob)
    assert (row.level, row.message, row.subject, row.from_user) == (
        WARNING,
        "the disk is full",
        "WARNING message",
        alice,
    )
    assert f"Queued message {row.pk} for bob." in out.getvalue()
