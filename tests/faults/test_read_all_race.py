"""Regression: a "mark all read" event must not mark newer messages read.

``state.mark_read(user)`` (the ``mark_read/all/`` view) updates the rows, then the
``read`` event is published. It used to be published by a task, which a two-process
worker could run after a ``deliver`` task had published a *newer* message; and it
said ``"ids": null`` ("all"), so clients marked the newer message read while the
database said unread. The event now carries the ids that changed, so even a late
copy (the fallback task when Redis was down at commit) cannot mark newer messages
read. Against the real Redis and gateway.
"""

from __future__ import annotations

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
    # The view: rows updated, the event published after commit.
    state.mark_read(alice)
    stream_key = wire.user_stream_key(settings.MONITIO["KEY_PREFIX"], alice.pk)
    redis_client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    [(_, read_event)] = redis_client.xrevrange(stream_key, count=1)
    assert read_event["e"] == wire.READ
    # A worker stores and publishes a newer message...
    newer = _store(alice, "newer")
    # ...and the same "mark all read" event arrives once more, late (as it does when
    # Redis was unreachable at commit and the fallback task publishes it).
    monitio.publish.publish(alice.pk, wire.READ, read_event["d"])
    stream.wait_events(2)
    stream.close()
    inbox.apply(stream)
    print(f"\nRACE read_all_after_newer newer_read_in_client={inbox.read.get(newer)} "
          f"newer_read_in_db={Message.objects.get(pk=newer).read} "
          f"event_unread={inbox.unread} diffs={inbox.diffs(alice)}")
    assert inbox.read[newer] is False
    assert inbox.diffs(alice) == 0
    assert state.unread_count(alice) == 1
