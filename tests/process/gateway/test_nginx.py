"""The gateway behind the nginx location documented in docs/nginx.conf (R10 via
nginx, R15, R17). nginx runs privately (tests/process/faults/nginx.py); the system nginx
is never touched."""

from __future__ import annotations

import signal
import socket
import statistics
import threading
import time

from monitio import publish, wire
from tests.gateways import HEAVY, mint
from tests.sseclient import Stream


def test_events_pass_through_nginx_unbuffered(gateway, start_nginx, streams):
    """R17: a 100-byte event goes through at once, with other streams open (1,000
    with MONITIO_GATEWAY_HEAVY=1; 200 by default)."""
    proxy = start_nginx(gateway.port)
    assert proxy.source == "docs/nginx.conf"
    others = []
    for n in range(999 if HEAVY else 199):
        sock = socket.create_connection(("127.0.0.1", proxy.port))
        cookie = f"monitio_stream={mint(1000 + n)}"
        sock.sendall(
            f"GET /sse/ HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode()
        )
        others.append(sock)
    s = Stream(proxy.port, cookie=f"monitio_stream={mint(1)}")
    streams.append(s)
    assert s.status() == 200
    assert s.response.headers["content-type"] == "text/event-stream; charset=utf-8"
    latencies = []
    for n in range(100):
        began = time.monotonic()
        sent = publish.publish(1, wire.MESSAGE, {"n": n, "pad": "x" * 60})
        assert s.wait(lambda s, i=sent: s.events and s.events[-1].id == i, timeout=5)
        latencies.append(time.monotonic() - began)
    latencies.sort()
    open_streams = gateway.metric("connections")
    for sock in others:
        sock.close()
    print(
        f"R17 via_nginx connections={open_streams:g} events=100 latency_p50_ms="
        f"{statistics.median(latencies) * 1000:.1f} p99_ms={latencies[98] * 1000:.1f}"
    )


def test_heartbeats_keep_idle_stream_open_through_nginx(
    start_gateway, redis_client, start_nginx, streams
):
    """R15 in miniature: nginx drops a stream silent for 3 s; heartbeats every 1 s."""
    idle = 600 if HEAVY else 8
    gw = start_gateway(MONITIO_HEARTBEAT_SECONDS="1")
    proxy = start_nginx(gw.port, proxy_read_timeout="3s")
    assert proxy.source == "docs/nginx.conf"
    s = Stream(proxy.port, cookie=f"monitio_stream={mint(1)}")
    streams.append(s)
    assert s.status() == 200
    time.sleep(idle)
    disconnected = s.ended.is_set()
    sent = publish.publish(1, wire.MESSAGE, {"after": "idle"})
    assert s.wait(lambda s: any(e.id == sent for e in s.events), timeout=5)
    print(
        f"R15 via_nginx idle_s={idle} proxy_read_timeout_s=3 heartbeat_s=1 "
        f"heartbeats={s.parser.comments} disconnects={int(disconnected)}"
    )
    assert not disconnected


def test_client_reopens_with_last_event_id_after_502_during_restart(
    start_gateway, redis_client, start_nginx
):
    """R10 behind nginx: while the gateway is down nginx answers 502, which ends an
    EventSource for good; the page reopens it with ``?last_event_id=``."""
    gw = start_gateway()
    proxy = start_nginx(gw.port)
    assert proxy.source == "docs/nginx.conf"
    clients_n = 50 if HEAVY else 10
    received: dict[int, list[str]] = {c: [] for c in range(clients_n)}
    statuses: list[int] = []
    stop = threading.Event()

    def client(c: int) -> None:
        last = publish.current_event_id(1)
        while not stop.is_set():
            s = Stream(
                proxy.port,
                f"/sse/?last_event_id={last}",
                cookie=f"monitio_stream={mint(1)}",
            )
            status = s.status()
            statuses.append(status)
            if status == 200:
                while not s.ended.is_set() and not stop.is_set():
                    s.wait_end(0.1)
                received[c] += [e.id for e in s.events]
                last = s.last_id or last
            s.close()
            stop.wait(0.2)  # the page's back-off before reopening

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients_n)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    sent = []
    for n in range(60):
        sent.append(publish.publish(1, wire.MESSAGE, {"n": n}))
        if n == 20:
            gw.stop(signal.SIGKILL)
        if n == 40:
            gw.start()
        time.sleep(0.05)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(
        set(sent) <= set(r) for r in received.values()
    ):
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(10)
    missed = sum(len(set(sent) - set(r)) for r in received.values())
    dups = sum(len(r) - len(set(r)) for r in received.values())
    bad_gateway = statuses.count(502)
    print(
        f"R10 variant=nginx clients={clients_n} published={len(sent)} "
        f"status_502_seen={bad_gateway} missed={missed} duplicates={dups}"
    )
    assert missed == 0 and dups == 0
