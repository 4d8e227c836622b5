"""Regression: a "mark all read" event must not mark newer messages read.

``state.mark_read(user)`` (the ``mark_read/all/`` view) updates the rows, then a
``publish_state`` task publishes the ``read`` event. With a worker of concurrency > 1
that task may run after a ``deliver`` task that stored and published a *newer*
message. The event used to say ``"ids": null`` ("all"), so clients marked the newer
message read too while the database said unread. It now carries the ids that
changed. The tasks are plain functions behind thin Celery wrappers; this test calls
them in the order a two-process worker can run them, against the real Redis and
gateway.
"""

from __future__ import annotations

import base64
import json

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

import monitio
from monitio import delivery, payloads, state, wire
from monitio.models import Message
from tests.faults.inbox import LiveInbox
from tests.gateway.conftest import mint
from tests.gateway.sseclient import Stream


@pytest.fixture
def alice(transactional_db):
    return get_user_model().objects.create_user("alice", "alice@example.com", "pw")


def _store(alice, text: str) -> str:
    payload = payloads.build(user_id=alice.pk, level=monitio.INFO, message=text,
                             from_user_id=None)
    delivery.deliver([payload])  # what the ``deliver`` task runs: store, publish
    return payload["id"]


def _take_queued_task(name: str) -> list:
    """Pop the queued task ``name`` from the real broker; return its arguments."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for raw in broker.lrange("celery", 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == name:
            broker.lrem("celery", 1, raw)
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            return args
    raise AssertionError(f"{name} was not queued")


def test_read_all_event_does_not_mark_newer_messages_read(start_gateway, redis_db, alice):
    gw = start_gateway()
    browser = Client()
    browser.force_login(alice)
    inbox = LiveInbox(browser)
    _store(alice, "old")
    inbox.fetch()
    stream = Stream(gw.port, f"/sse/?last_event_id={monitio.publish.current_event_id(alice.pk)}",
                    cookie=f"monitio_stream={mint(alice.pk)}")
    assert stream.status() == 200
    # The view: rows updated now, the event's task queued (run below, later).
    state.mark_read(alice)
    queued = _take_queued_task("monitio_tasks.publish_state")
    # Meanwhile the other worker process stores and publishes a new message...
    newer = _store(alice, "newer")
    # ...before this process runs the queued publish_state task of "mark all read".
    delivery.publish_state(*queued)
    stream.wait_events(2)
    stream.close()
    inbox.apply(stream)
    print(f"\nRACE read_all_after_newer newer_read_in_client={inbox.read.get(newer)} "
          f"newer_read_in_db={Message.objects.get(pk=newer).read} "
          f"event_unread={inbox.unread} diffs={inbox.diffs(alice)}")
    assert inbox.read[newer] is False
    assert inbox.diffs(alice) == 0
    assert state.unread_count(alice) == 1
