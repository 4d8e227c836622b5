"""R14/R16/R18: Redis going away, slow and dead clients."""

from __future__ import annotations

import socket
import threading
import time

import psutil
import redis

from monitio import publish, wire
from tests.gateways import HEAVY, mint
from tests.sseclient import Reconnecting


class Publisher(threading.Thread):
    """Publish to ``users`` round-robin, retrying while Redis is away; record ids."""

    def __init__(self, users: list[int], total: int, interval: float = 0.01) -> None:
        super().__init__()
        self.users, self.total, self.interval = users, total, interval
        self.sent: dict[int, list[str]] = {u: [] for u in users}

    def run(self) -> None:
        n = 0
        while n < self.total:
            user = self.users[n % len(self.users)]
            try:
                self.sent[user].append(publish.publish(user, wire.MESSAGE, {"n": n}))
            except redis.RedisError:
                publish.reset_client()
                time.sleep(0.05)
                continue
            n += 1
            time.sleep(self.interval)


def _key(event_id: str) -> tuple[str, tuple[int, int]]:
    epoch, entry = event_id.split(":")
    return epoch, wire.entry_key(entry)


def _lost(sent: list[str], events) -> list[str]:
    """Published ids neither received nor covered by a later ``resync``."""
    got = {e.id for e in events if e.type == wire.MESSAGE}
    resyncs = [_key(e.id) for e in events if e.type == wire.RESYNC]

    def covered(event_id: str) -> bool:
        epoch, entry = _key(event_id)
        return any(r_epoch != epoch or entry <= r_entry for r_epoch, r_entry in resyncs)

    return [i for i in sent if i not in got and not covered(i)]


def _clients(gw, users, per_user=2):
    return {
        (u, k): Reconnecting(
            gw.port,
            f"monitio_stream={mint(u)}",
            last_event_id=publish.current_event_id(u),
        )
        for u in users
        for k in range(per_user)
    }


def _settle(clients, publisher, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(
            not _lost(publisher.sent[u], c.all_events())
            for (u, _), c in clients.items()
        ):
            return
        time.sleep(0.2)


def test_redis_restart_while_publishing_loses_nothing(own_redis, start_gateway):
    gw = start_gateway(MONITIO_REDIS_URL=own_redis.url, MONITIO_HEARTBEAT_SECONDS="1")
    users = [1, 2, 3]
    clients = _clients(gw, users)
    time.sleep(0.5)
    publisher = Publisher(users, 300)
    publisher.start()
    time.sleep(1.0)
    own_redis.crash()
    time.sleep(0.5)
    restarted = time.monotonic()
    own_redis.start()
    while gw.get("/readyz").status_code != 200 and time.monotonic() - restarted < 30:
        time.sleep(0.05)
    recovery_s = time.monotonic() - restarted
    publisher.join(60)
    _settle(clients, publisher)
    lost = resynced = 0
    for (u, _), c in clients.items():
        c.stop()
        lost += len(_lost(publisher.sent[u], c.events))
        resynced += any(e.type == wire.RESYNC for e in c.events)
    resumes = gw.metric("resumes_total")
    print(
        f"R14 redis_restart published={sum(map(len, publisher.sent.values()))} "
        f"clients={len(clients)} lost={lost} "
        f"clients_resynced={resynced}/{len(clients)} "
        f"gateway_resumes={resumes:g} gateway_recovery_s={recovery_s:.2f}"
    )
    assert lost == 0
    assert resynced == len(clients), "Redis lost its data: every client must resync"


def test_killing_the_reader_connection_loses_nothing(own_redis, start_gateway):
    gw = start_gateway(MONITIO_REDIS_URL=own_redis.url)
    admin = redis.Redis.from_url(own_redis.url, decode_responses=True)
    users = [1, 2]
    clients = _clients(gw, users)
    time.sleep(0.5)
    publisher = Publisher(users, 300)
    publisher.start()
    kills = 0
    recoveries = []
    for _ in range(5):
        time.sleep(0.4)
        admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        for client in admin.client_list():
            if client["name"] == "monitio-gateway-reader":
                admin.client_kill_filter(_id=client["id"])
                kills += 1
                killed_at = time.monotonic()
                while not any(
                    c["name"] == "monitio-gateway-reader" for c in admin.client_list()
                ):
                    time.sleep(0.01)
                recoveries.append(time.monotonic() - killed_at)
    publisher.join(60)
    _settle(clients, publisher)
    lost = resyncs = 0
    for (u, _), c in clients.items():
        c.stop()
        received = [e.id for e in c.events if e.type == wire.MESSAGE]
        lost += len(set(publisher.sent[u]) - set(received))
        resyncs += sum(e.type == wire.RESYNC for e in c.events)
        assert received == list(dict.fromkeys(received)), "no duplicates"
    print(
        f"R14 reader_kills={kills} pubsub_kills=5 published=300 lost={lost} "
        f"resyncs={resyncs} recovery_max_s={max(recoveries):.2f}"
    )
    assert kills == 5 and lost == 0 and resyncs == 0


def _worker_rss(gw) -> int:
    children = psutil.Process(gw.proc.pid).children()
    return sum(c.memory_info().rss for c in children)


def test_slow_client_dropped_memory_bounded_others_unaffected(start_gateway, redis_client):
    """R18: one client stops reading; the others keep up; the stalled one is cut.

    The stalled client's user gets 2,100 events of 8 kB (more than the kernel's
    socket buffers hold); the normal clients' user gets 300 small ones meanwhile.
    """
    gw = start_gateway(
        MONITIO_CLIENT_QUEUE_SIZE="20", MONITIO_MAX_STREAMS_PER_USER="1000"
    )
    normal_n = 200 if HEAVY else 20
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", gw.port))
    stalled.sendall(
        f"GET /sse/ HTTP/1.1\r\nHost: x\r\nCookie: monitio_stream={mint(1)}"
        "\r\n\r\n".encode()
    )
    clients = [
        Reconnecting(
            gw.port,
            f"monitio_stream={mint(2)}",
            last_event_id=publish.current_event_id(2),
        )
        for _ in range(normal_n)
    ]
    time.sleep(0.5)
    rss_before = _worker_rss(gw)
    pad = "x" * 8000
    sent, latencies = [], []
    for n in range(300):
        publish.publish_many((1, wire.MESSAGE, {"n": n, "pad": pad}) for _ in range(7))
        began = time.monotonic()
        sent.append(publish.publish(2, wire.MESSAGE, {"n": n}))
        if n % 30 == 0:
            target = sent[-1]
            clients[n % normal_n].current.wait(
                lambda s, t=target: any(e.id == t for e in s.events), 10
            )
            latencies.append(time.monotonic() - began)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(
        len(c.all_events()) >= len(sent) for c in clients
    ):
        time.sleep(0.1)
    rss_after = _worker_rss(gw)
    drops = gw.metric("slow_client_drops_total")
    stalled.settimeout(10)
    received = 0
    try:
        while chunk := stalled.recv(65536):
            received += len(chunk)
    except OSError:
        pass
    stalled.close()
    missed = 0
    for c in clients:
        c.stop()
        missed += len(set(sent) - {e.id for e in c.events})
    published_bytes = 2100 * 8000
    latencies.sort()
    print(
        f"R18 normal_clients={normal_n} stalled=1 stalled_dropped={drops:g} "
        f"stalled_bytes_before_close={received} of_published={published_bytes} "
        f"normal_missed={missed} "
        f"normal_latency_p50_s={latencies[len(latencies) // 2]:.4f} "
        f"max_s={latencies[-1]:.4f} rss_before_mb={rss_before / 2**20:.1f} "
        f"rss_after_mb={rss_after / 2**20:.1f}"
    )
    assert drops == 1 and missed == 0
    assert received < published_bytes  # the server closed it, not the end of data
    assert rss_after - rss_before < 64 * 2**20


def test_blocked_write_dropped_after_two_heartbeats(start_gateway, redis_client):
    """R16: a peer that vanished mid-write (no FIN, full buffers) is detected."""
    gw = start_gateway(
        MONITIO_HEARTBEAT_SECONDS="0.5", MONITIO_CLIENT_QUEUE_SIZE="100000"
    )
    dead = socket.socket()
    dead.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    dead.connect(("127.0.0.1", gw.port))
    dead.sendall(
        f"GET /sse/ HTTP/1.1\r\nHost: x\r\nCookie: monitio_stream={mint(1)}"
        "\r\n\r\n".encode()
    )
    time.sleep(0.3)
    began = time.monotonic()
    # Enough to fill the socket buffers, then no more events: only the sweeper
    # can notice the write never finishes.
    publish.publish_many((1, wire.MESSAGE, {"pad": "y" * 60000}) for _ in range(100))
    deadline = time.monotonic() + 15
    while gw.metric("slow_client_drops_total") < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    detected = time.monotonic() - began
    dead.close()
    print(
        f"R16 blocked_write_detected_s={detected:.2f} heartbeat_s=0.5 "
        f"bound=2*heartbeat+sweep"
    )
    assert gw.metric("slow_client_drops_total") == 1
    assert gw.metric("connections") == 0


def test_malformed_fanout_entry_is_skipped_not_fatal(gateway, streams, redis_client):
    from tests.gateways import PREFIX

    s = gateway.stream(1)
    streams.append(s)
    assert s.status() == 200
    before = publish.publish(1, wire.MESSAGE, {"before": "junk"})
    pipe = redis_client.pipeline()  # one batch: junk between two good entries
    pipe.xadd(wire.fanout_key(PREFIX), {"junk": "1"})
    pipe.xadd(wire.fanout_key(PREFIX), {"u": "1", "i": "x", "e": "message", "d": "{}"})
    pipe.execute()
    sent = publish.publish(1, wire.MESSAGE, {"after": "junk"})
    assert s.wait(lambda s: any(e.id == sent for e in s.events))
    assert [e.id for e in s.events] == [before, sent]
    assert "Traceback" not in gateway.log.read_text()
