"""On SQLite, a state change made while the worker holds the write lock waits for
the lock instead of failing: the test settings begin transactions IMMEDIATE, as
check ``monitio.W006`` asks of every SQLite site. With deferred transactions
``mark_read`` (read the changed ids, then update) fails at once with "database is
locked", whatever the timeout: SQLite refuses to wait where waiting could deadlock."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from django.db import connection

import monitio
from monitio import state
from monitio.models import Message

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's database-wide write lock only"
)


def test_a_state_change_waits_for_another_writer(transactional_db, alice):
    message = Message.objects.create(user=alice, level=monitio.INFO, message="m")
    holding, committed = threading.Event(), threading.Event()

    def worker_writes() -> None:
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the write lock, as a worker's INSERT takes it
        other.execute(
            "UPDATE monitio_message SET subject = 'by the worker' WHERE id = ?",
            [message.pk.hex],
        )
        holding.set()
        time.sleep(0.5)
        other.execute("COMMIT")
        committed.set()
        other.close()

    writer = threading.Thread(target=worker_writes)
    writer.start()
    assert holding.wait(5)
    changed = state.mark_read(alice, [message.pk])
    writer.join()
    assert changed == 1 and committed.is_set()
    message.refresh_from_db()
    assert message.read and message.subject == "by the worker"
