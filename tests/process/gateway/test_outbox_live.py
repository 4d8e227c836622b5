"""monitio.testing with the services there: ``Outbox.deliver(live=True)`` runs the
real delivery code in this process, stores the row and publishes to the real Redis,
and a real gateway streams the event to the user's open stream.

Its fast-tier counterpart (``tests/fast/devexp/test_testing.py``) proves the same
helpers need no Redis, broker or worker at all.
"""

from __future__ import annotations

import json

import monitio
from monitio import wire
from monitio.conf import settings as monitio_settings
from monitio.models import Message
from monitio.testing import capture_messages


def test_live_delivery_stores_publishes_and_reaches_the_gateway(
    gateway, streams, redis_client, alice, bob
):
    stream = gateway.stream(bob.pk)
    streams.append(stream)
    assert stream.status() == 200
    with capture_messages() as outbox:
        monitio.create_message(bob, monitio.INFO, "from the outbox", from_user=alice)
    assert not Message.objects.exists()  # captured, not sent to the broker
    assert outbox.deliver(live=True) == 1
    stored = Message.objects.get()
    assert (stored.user, stored.message) == (bob, "from the outbox")
    key = wire.user_stream_key(monitio_settings.KEY_PREFIX, bob.pk)
    assert redis_client.xlen(key) == 1
    [event] = stream.wait_events(1)
    assert event.type == wire.MESSAGE
    data = json.loads(event.data)
    assert (data["id"], data["message"]) == (str(stored.pk), "from the outbox")
