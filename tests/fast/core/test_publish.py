"""``monitio.publish`` against the real Redis: batching and a script cache that Redis
lost (restart, ``SCRIPT FLUSH``)."""

from __future__ import annotations

from monitio import publish, wire
from monitio.conf import settings


def _history(redis_client, user_id) -> list[str]:
    key = wire.user_stream_key(settings.KEY_PREFIX, user_id)
    return [fields["d"] for _, fields in redis_client.xrange(key)]


def test_events_past_one_script_call_keep_their_order(redis_client):
    count = 2 * wire.PUBLISH_BATCH + 7  # three script calls
    ids = publish.publish_many((7, wire.MESSAGE, {"n": n}) for n in range(count))
    assert len(ids) == count and len(set(ids)) == count
    assert _history(redis_client, 7) == [f'{{"n":{n}}}' for n in range(count)]
    fanout = redis_client.xrange(wire.fanout_key(settings.KEY_PREFIX))
    assert [f["d"] for _, f in fanout] == [f'{{"n":{n}}}' for n in range(count)]


def test_flushed_script_cache_publishes_each_event_once(redis_client):
    publish.publish(8, wire.MESSAGE, {"n": -1})  # the script is loaded now
    redis_client.script_flush()
    events = [(8, wire.MESSAGE, {"n": n}) for n in range(wire.PUBLISH_BATCH + 1)]
    ids = publish.publish_many(events, once_keys=[f"m{n}" for n in range(len(events))])
    assert None not in ids
    assert _history(redis_client, 8)[1:] == [f'{{"n":{n}}}' for n in range(len(events))]
    # Published once: the same keys again publish nothing.
    assert publish.publish_many(events, once_keys=[f"m{n}" for n in range(len(events))]) == [
        None
    ] * len(events)
