"""R14: Redis crashes and restarts, and the gateway's reader connection is killed,
while events are published: nothing is lost; how long until delivery resumes.

Each test runs its own ``redis-server`` on a free port (see :mod:`.redisserver`),
a gateway and 50 clients (5 users x 10) while 1,000 events are published at 100/s.
A probe client of another user measures recovery: after the fault, the probe event
is published every 50 ms until one reaches it; the time from Redis answering
again (or from the kill) to that arrival is the recovery time.

- ``durable`` Redis (AOF, ``appendfsync always``) is SIGKILLed and restarted: the
  history survives, so clients get every event and no ``resync``.
- Redis without persistence comes back empty: the epoch changes, every client
  must be told ``resync``, and no event may be missing without one.
- ``CLIENT KILL TYPE pubsub`` and ``CLIENT KILL ID <reader>`` ten times in a row.

Printed::

    R14 fault=crash-durable clients=50 published=1000 lost=0 resyncs=0 ...
        recovery_s=…
    R14 fault=reader-kill kills=10 ... lost=0 recovery_p50_s=… recovery_max_s=…
"""

from __future__ import annotations

import time

import pytest
import redis

from monitio import publish, wire
from tests.gateways import mint

from .client import Browserlike, median
from .delivery import Verdict, judge, position
from .publisher import SteadyPublisher
from .redisserver import RedisServer

USERS = [1, 2, 3, 4, 5]
PER_USER = 10
MESSAGES = 1000
RATE = 100.0
PROBE_USER = 99


@pytest.fixture
def make_redis(tmp_path, settings):
    """Start a private Redis and point monitio's publisher at it."""
    servers: list[RedisServer] = []

    def make(durable: bool) -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(servers)}", durable=durable)
        servers.append(server)
        server.start()
        settings.MONITIO = {**settings.MONITIO, "REDIS_URL": server.url}
        publish.reset_client()
        return server

    yield make
    for server in servers:
        server.crash()
    publish.reset_client()


def _connect(port: int) -> tuple[list[tuple[int, Browserlike]], Browserlike]:
    clients = [
        (
            u,
            Browserlike(
                port,
                f"monitio_stream={mint(u)}",
                last_event_id=publish.current_event_id(u),
            ),
        )
        for u in USERS
        for _ in range(PER_USER)
    ]
    probe = Browserlike(
        port,
        f"monitio_stream={mint(PROBE_USER)}",
        last_event_id=publish.current_event_id(PROBE_USER),
    )
    deadline = time.monotonic() + 20
    while not all(c.current for _, c in [*clients, (0, probe)]):
        assert time.monotonic() < deadline, "clients could not connect"
        time.sleep(0.05)
    return clients, probe


def _probe(probe: Browserlike, since: float, timeout: float = 30) -> float:
    """Publish probe events until one reaches ``probe``; return seconds since ``since``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            marker = publish.publish(PROBE_USER, wire.MESSAGE, {"probe": True})
        except redis.RedisError:  # Redis still away, or our connection was killed
            publish.reset_client()
            time.sleep(0.05)
            continue
        until = time.monotonic() + 0.05
        while time.monotonic() < until:
            if any(e.id == marker for e in probe.events()):
                return time.monotonic() - since
            time.sleep(0.005)
    raise AssertionError("delivery never resumed")


def _uncovered(sent: list[str], events) -> list[str]:
    """Published ids neither received nor announced as a gap by a later ``resync``."""
    got = {e.id for e in events if e.type == wire.MESSAGE}
    resyncs = [position(e.id) for e in events if e.type == wire.RESYNC]

    def covered(event_id: str) -> bool:
        epoch, entry = position(event_id)
        return any(r_epoch != epoch or entry <= r_entry for r_epoch, r_entry in resyncs)

    return [i for i in sent if i not in got and not covered(i)]


def _settle(clients, publisher: SteadyPublisher, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(not _uncovered(publisher.sent[u], c.events()) for u, c in clients):
            return
        time.sleep(0.2)


def _tally(clients, probe, publisher) -> tuple[int, int, Verdict]:
    lost = resynced = 0
    verdict = Verdict()
    for user, client in [*clients, (PROBE_USER, probe)]:
        client.stop()
    for user, client in clients:
        events = client.events()
        lost += len(_uncovered(publisher.sent[user], events))
        resynced += any(e.type == wire.RESYNC for e in events)
        verdict.add(judge(publisher.sent[user], events))
    return lost, resynced, verdict


@pytest.mark.parametrize("durable", [True, False], ids=["durable", "empty"])
def test_redis_crash_and_restart_while_publishing(make_redis, start_gateway, durable):
    server = make_redis(durable)
    gw = start_gateway(
        MONITIO_REDIS_URL=server.url,
        MONITIO_HEARTBEAT_SECONDS="1",
        MONITIO_MAX_STREAMS_PER_USER=str(PER_USER),
    )
    clients, probe = _connect(gw.port)
    publisher = SteadyPublisher(USERS, MESSAGES, RATE)
    publisher.start()
    time.sleep(3)
    server.crash()
    time.sleep(1)
    up_at = server.start()
    recovery = _probe(probe, up_at)
    publisher.join(60)
    _settle(clients, publisher)
    lost, resynced, verdict = _tally(clients, probe, publisher)
    print(
        f"\nR14 fault=crash-{'durable' if durable else 'empty'} clients={len(clients)} "
        f"published={publisher.count()} publish_retries={publisher.retries} "
        f"lost={lost} clients_resynced={resynced}/{len(clients)} "
        f"duplicates_raw={verdict.duplicates_raw} out_of_order={verdict.out_of_order} "
        f"gateway_resumes={gw.metric('resumes_total'):g} recovery_s={recovery:.2f}"
    )
    assert publisher.count() == MESSAGES and lost == 0
    if durable:
        assert resynced == 0 and verdict == Verdict(
            duplicates_raw=verdict.duplicates_raw
        )
    else:
        assert resynced == len(clients), "Redis lost its data: every client must resync"


def test_killing_the_gateway_reader_connection_while_publishing(
    make_redis, start_gateway
):
    server = make_redis(True)
    gw = start_gateway(
        MONITIO_REDIS_URL=server.url, MONITIO_MAX_STREAMS_PER_USER=str(PER_USER)
    )
    admin = server.admin()
    clients, probe = _connect(gw.port)
    publisher = SteadyPublisher(USERS, MESSAGES, RATE)
    publisher.start()
    recoveries, reader_kills, pubsub_killed = [], 0, 0
    for round_ in range(10):
        time.sleep(0.5)
        killed_at = time.monotonic()
        if round_ % 2:
            pubsub_killed += admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        else:
            readers = [
                c for c in admin.client_list() if c["name"] == "monitio-gateway-reader"
            ]
            assert len(readers) == 1
            reader_kills += admin.client_kill_filter(_id=readers[0]["id"])
        recoveries.append(_probe(probe, killed_at))
    publisher.join(60)
    _settle(clients, publisher)
    lost, resynced, verdict = _tally(clients, probe, publisher)
    print(
        f"\nR14 fault=reader-kill reader_kills={reader_kills} pubsub_kill_commands=5 "
        f"pubsub_connections_killed={pubsub_killed} clients={len(clients)} "
        f"published={publisher.count()} lost={lost} resyncs={resynced} "
        f"duplicates_raw={verdict.duplicates_raw} out_of_order={verdict.out_of_order} "
        f"recovery_p50_s={median(recoveries):.2f} recovery_max_s={max(recoveries):.2f}"
    )
    assert reader_kills == 5 and lost == 0 and resynced == 0
    assert verdict == Verdict(duplicates_raw=verdict.duplicates_raw)
