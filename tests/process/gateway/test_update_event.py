"""The ``update`` event of a grouped message (monitio.grouping) through a real gateway:
forwarded live, and replayed after a drop, like every other event."""

from __future__ import annotations

from monitio import publish, wire


def test_update_events_are_delivered_and_replayed(gateway, streams):
    first = gateway.stream(1)
    streams.append(first)
    assert first.status() == 200
    opened = publish.publish(1, wire.MESSAGE, {"id": "g1", "group": {"count": 1}})
    live = publish.publish(1, wire.UPDATE, {"id": "g1", "group": {"count": 2}})
    assert [(e.id, e.type) for e in first.wait_events(2)] == [(opened, "message"), (live, "update")]
    first.close()
    missed = publish.publish(1, wire.UPDATE, {"id": "g1", "group": {"count": 3}})
    again = gateway.stream(1, headers={"Last-Event-ID": first.last_id})
    streams.append(again)
    [replayed] = again.wait_events(1)
    assert (replayed.id, replayed.type) == (missed, "update")
    assert '"count":3' in replayed.data
