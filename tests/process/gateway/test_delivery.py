"""Live delivery, replay and heartbeats through a real gunicorn+gevent gateway."""

from __future__ import annotations

import threading
import time

from monitio import publish, wire
from tests.gateways import HEAVY


def _ids(events):
    return [e.id for e in events]


def test_delivers_events_with_ids_names_and_headers(gateway, streams):
    s = gateway.stream(1)
    streams.append(s)
    assert s.status() == 200
    headers = s.response.headers
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    assert headers["x-accel-buffering"] == "no"
    assert s.wait(lambda s: s.parser.retry is not None)
    sent = [
        publish.publish(1, wire.MESSAGE, {"id": "m1", "message": "hi"}),
        publish.publish(1, wire.READ, {"ids": ["m1"], "unread": 0}),
        publish.publish(1, wire.UNREAD, {"ids": ["m1"], "unread": 1}),
        publish.publish(1, wire.DELETED, {"ids": ["m1"], "unread": 0}),
    ]
    events = s.wait_events(4)
    assert _ids(events) == sent
    assert [e.type for e in events] == ["message", "read", "unread", "deleted"]
    assert '"message":"hi"' in events[0].data
    print(
        "R17 headers x_accel_buffering=no cache_control=no-cache "
        f"parser_retry={s.parser.retry}"
    )


def test_only_the_users_own_events_reach_a_stream(gateway, streams):
    a, b = gateway.stream(1), gateway.stream(2)
    streams += [a, b]
    assert a.status() == b.status() == 200
    publish.publish(2, wire.MESSAGE, {"id": "for-b"})
    publish.publish(1, wire.MESSAGE, {"id": "for-a"})
    assert len(a.wait_events(1)) == 1 and len(b.wait_events(1)) == 1
    time.sleep(0.3)
    assert ["for-a" in e.data for e in a.events] == [True]
    assert ["for-b" in e.data for e in b.events] == [True]


def test_every_tab_of_a_user_gets_every_event(gateway, streams):
    tabs = [gateway.stream(5) for _ in range(4)]
    streams += tabs
    assert all(t.status() == 200 for t in tabs)
    sent = [publish.publish(5, wire.MESSAGE, {"n": n}) for n in range(10)]
    assert all(_ids(t.wait_events(10)) == sent for t in tabs)


def test_a_burst_for_one_stream_goes_out_in_one_write(gateway, streams):
    tabs = [gateway.stream(7), gateway.stream(7)]
    other = gateway.stream(8)
    streams += [*tabs, other]
    assert all(s.status() == 200 for s in [*tabs, other])
    single = publish.publish(7, wire.MESSAGE, {"n": -1})
    assert all(_ids(t.wait_events(1)) == [single] for t in tabs)
    assert gateway.metric("events_merged_total") == 0
    # One script call: the gateway reads the whole burst in one batch.
    burst = [(7, wire.MESSAGE, {"n": n}) for n in range(50)]
    burst.insert(25, (8, wire.MESSAGE, {"n": "between"}))
    sent = publish.publish_many(burst)
    mine = [sid for (user, _, _), sid in zip(burst, sent) if user == 7]
    assert all(_ids(t.wait_events(51)) == [single, *mine] for t in tabs)
    assert [e.data for e in other.wait_events(1)] == ['{"n":"between"}']
    # Per tab, the first event of the batch went out at once, the other 49 together.
    assert gateway.metric("events_merged_total") == 2 * 49


def test_two_gateway_processes_both_deliver(start_gateway, redis_client, streams):
    one, two = start_gateway(), start_gateway()
    clients = [one.stream(1), two.stream(1), one.stream(2), two.stream(2)]
    streams += clients
    assert all(c.status() == 200 for c in clients)
    sent1 = [publish.publish(1, wire.MESSAGE, {"n": n}) for n in range(20)]
    sent2 = [publish.publish(2, wire.MESSAGE, {"n": n}) for n in range(20)]
    got = [_ids(c.wait_events(20)) for c in clients]
    assert got == [sent1, sent1, sent2, sent2]
    print("R10 processes=2 clients=4 events_each=20 missed=0")


def test_replay_after_client_drop_with_last_event_id(gateway, streams):
    first = gateway.stream(1)
    streams.append(first)
    assert first.status() == 200
    seen = [publish.publish(1, wire.MESSAGE, {"n": n}) for n in range(3)]
    assert _ids(first.wait_events(3)) == seen
    first.close()
    missed = [publish.publish(1, wire.MESSAGE, {"n": n}) for n in range(3, 8)]
    again = gateway.stream(1, headers={"Last-Event-ID": first.last_id})
    streams.append(again)
    later = publish.publish(1, wire.MESSAGE, {"n": 8})
    assert _ids(again.wait_events(6)) == [*missed, later]
    time.sleep(0.3)
    assert len(again.events) == 6
    assert gateway.metric("events_replayed_total") >= 5


def test_query_last_event_id_closes_the_render_to_connect_gap(gateway, streams):
    """R12: an id embedded at render time, then messages, then the EventSource."""
    runs = 100 if HEAVY else 20
    received = 0
    for run in range(runs):
        rendered = publish.current_event_id(9)
        created = publish.publish(9, wire.MESSAGE, {"run": run})
        s = gateway.stream(9, query=f"last_event_id={rendered}")
        received += _ids(s.wait_events(1)) == [created]
        s.close()
    print(f"R12 runs={runs} received={received}/{runs}")
    assert received == runs


def test_last_event_id_header_beats_query(gateway, streams):
    ids = [publish.publish(3, wire.MESSAGE, {"n": n}) for n in range(4)]
    s = gateway.stream(
        3, query=f"last_event_id={ids[0]}", headers={"Last-Event-ID": ids[2]}
    )
    streams.append(s)
    assert _ids(s.wait_events(1)) == [ids[3]]
    time.sleep(0.3)
    assert _ids(s.events) == [ids[3]]
    print("R12 header_beats_query=yes")


def test_no_gap_between_subscribe_and_catch_up(gateway, streams):
    """R11: connect repeatedly while events are published; ids stay continuous."""
    connects = 10_000 if HEAVY else 60
    stop = threading.Event()
    published: list[str] = []

    def publisher() -> None:
        while not stop.is_set():
            published.append(publish.publish(4, wire.MESSAGE, {"t": time.time()}))
            time.sleep(0.002)

    thread = threading.Thread(target=publisher)
    thread.start()
    seen: list[tuple[str, list[str]]] = []
    try:
        time.sleep(0.05)
        for _ in range(connects):
            cursor = published[-1]
            s = gateway.stream(4, query=f"last_event_id={cursor}")
            s.wait(lambda s: len(s.events) >= 3)
            s.close()
            seen.append((cursor, _ids(s.events)))
    finally:
        stop.set()
        thread.join()
    # Compared once publishing is over: an event can arrive before the publishing
    # thread has recorded its id.
    gaps = 0
    for cursor, got in seen:
        start = published.index(cursor) + 1
        gaps += got != published[start : start + len(got)]
    print(f"R11 connects={connects} published={len(published)} gaps={gaps}")
    assert gaps == 0


def test_heartbeat_comments_on_idle_stream(gateway, streams):
    s = gateway.stream(1)
    streams.append(s)
    assert s.wait(lambda s: s.parser.comments >= 3, timeout=10)
    print(
        "R15 heartbeat_interval_s=1 (configured; default 15) "
        f"comments={s.parser.comments}"
    )


def test_healthz_readyz_and_metrics(gateway, streams):
    assert gateway.get("/healthz").text == "ok\n"
    assert gateway.get("/readyz").status_code == 200
    s = gateway.stream(1)
    streams.append(s)
    assert s.status() == 200
    publish.publish(1, wire.MESSAGE, {"n": 1})
    s.wait_events(1)
    response = gateway.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    for name in (
        "connections",
        "connections_total",
        "events_delivered_total",
        "events_replayed_total",
        "resyncs_total",
        "slow_client_drops_total",
        "auth_rejected_total",
    ):
        assert f"# TYPE monitio_gateway_{name} " in response.text
    assert gateway.metric("connections") == 1
    assert gateway.metric("events_delivered_total") >= 1
