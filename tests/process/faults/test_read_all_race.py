"""Regression: a "mark all read" event must not mark newer messages read.

``state.mark_read(user)`` (the ``mark_read/all/`` view) updates the rows, then the
``read`` event is published. It used to be published by a task, which a two-process
worker could run after a ``deliver`` task had published a *newer* message; and it
said ``"ids": null`` ("all"), so clients marked the newer message read while the
database said unread. The event now carries the ids that changed (and is published from
the request, in order). Against the real Redis and gateway.
"""

from __future__ import annotations

import json

import redis
from django.conf import settings
from django.test import Client

import monitio
from monitio import delivery, payloads, state, wire
from monitio.models import Message
from tests.gateways import mint
from tests.process.faults.inbox import LiveInbox
from tests.sseclient import Stream


def _store(alice, text: str) -> str:
    payload = payloads.build(user_id=alice.pk, level=monitio.INFO, message=text,
                             from_user_id=None)
    delivery.deliver([payload])  # what the ``deliver`` task runs: store, publish
    return payload["id"]


def test_read_all_event_does_not_mark_newer_messages_read(start_gateway, redis_client, alice):
    gw = start_gateway()
    browser = Client()
    browser.force_login(alice)
    inbox = LiveInbox(browser)
    old = _store(alice, "old")
    inbox.fetch()
    stream = Stream(gw.port, f"/sse/?last_event_id={monitio.publish.current_event_id(alice.pk)}",
                    cookie=f"monitio_stream={mint(alice.pk)}")
    assert stream.status() == 200
    # The view: rows updated, the event published after commit, with the ids.
    state.mark_read(alice)
    stream_key = wire.user_stream_key(settings.MONITIO["KEY_PREFIX"], alice.pk)
    redis_client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    [(_, read_event)] = redis_client.xrevrange(stream_key, count=1)
    assert read_event["e"] == wire.READ
    assert json.loads(read_event["d"])["ids"] == [old]  # never null ("all")
    # A worker stores and publishes a newer message; it must stay unread everywhere.
    newer = _store(alice, "newer")
    # The same event once more, late, as the fallback task publishes it when Redis
    # was unreachable at commit (it reads the unread count when it runs).
    delivery.publish_state(alice.pk, wire.READ, [old])
    stream.wait_events(3)
    stream.close()
    inbox.apply(stream)
    print(f"\nRACE read_all_after_newer newer_read_in_client={inbox.read.get(newer)} "
          f"newer_read_in_db={Message.objects.get(pk=newer).read} "
          f"event_unread={inbox.unread} diffs={inbox.diffs(alice)}")
    assert inbox.read[newer] is False
    assert inbox.diffs(alice) == 0
    assert state.unread_count(alice) == 1
