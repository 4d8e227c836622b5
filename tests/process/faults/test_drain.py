"""R19: SIGTERM with thousands of open streams: each is closed with a jittered
``retry:``, so the reconnects spread over the drain window, and nothing sent before
is lost.

Streams (10,000, or fewer if the open-file limit is lower; over 100 users) are read by one ``select`` loop
(:mod:`.multireader`). Each user gets 5 events; then the gunicorn master gets
SIGTERM, as a deploy sends it.

Printed::

    R20 idle_streams=10000 rss_per_stream_kb=… idle_cpu_pct=… cap=10000
        next_stream_status=503 retry_after=yes
    R19 streams=10000 closed=10000/10000 with_drain_retry=… retry_ms_min=… retry_ms_max=…
        histogram_1s_buckets=[…] missed=0 worker_exit_s=…

While the streams are open it also prints R20 (capacity): RSS per idle stream, idle
CPU, and the answer to one stream more than ``MONITIO_MAX_CONNECTIONS``.

Another size: ``MONITIO_FAULTS_DRAIN_STREAMS=2000``.
"""

from __future__ import annotations

import os
import signal
import time

import psutil

from monitio import publish, wire
from tests.gateways import mint
from tests.process.conftest import FD_LIMIT
from tests.sseclient import Stream

from .multireader import MultiReader

# 10,000 as asked, unless this machine's hard open-file limit is lower.
STREAMS = int(
    os.environ.get("MONITIO_FAULTS_DRAIN_STREAMS", min(10_000, FD_LIMIT - 1000))
)
USERS = 100
RETRY_MS, WINDOW_MS = 2000, 5000


def _capacity(gw, worker: psutil.Process, rss_empty: int) -> str:
    """R20 while the streams are open: memory per stream, idle CPU, and what the
    stream after the cap (``MONITIO_MAX_CONNECTIONS``) gets."""
    per_stream = (worker.memory_info().rss - rss_empty) / STREAMS / 1024
    worker.cpu_percent()
    time.sleep(3)  # idle: no events; heartbeats every 15 s
    idle_cpu = worker.cpu_percent()
    extra = Stream(gw.port, cookie=f"monitio_stream={mint(USERS + 1)}")
    status = extra.status()
    retry_after = "yes" if extra.response.headers.get("retry-after") else "no"
    extra.close()
    return (
        f"R20 idle_streams={STREAMS} rss_per_stream_kb={per_stream:.1f} "
        f"idle_cpu_pct={idle_cpu:.1f} cap={STREAMS} next_stream_status={status} "
        f"retry_after={retry_after}"
    )


def test_sigterm_drains_every_stream_with_jittered_retry(start_gateway, redis_client):
    gw = start_gateway(
        MONITIO_MAX_STREAMS_PER_USER=str(STREAMS),
        MONITIO_MAX_CONNECTIONS=str(STREAMS),
        MONITIO_RETRY_MS=str(RETRY_MS),
        MONITIO_DRAIN_WINDOW_MS=str(WINDOW_MS),
    )
    worker = psutil.Process(gw.proc.pid).children()[0]
    rss_empty = worker.memory_info().rss
    requests = [
        (u, f"monitio_stream={mint(u)}")
        for n in range(STREAMS)
        for u in [n % USERS + 1]
    ]
    reader = MultiReader(gw.port, requests)
    reader.start()
    deadline = time.monotonic() + 60
    while reader.connected() < STREAMS:
        assert time.monotonic() < deadline, f"only {reader.connected()} connected"
        time.sleep(0.1)
    sent = {
        u: publish.publish_many((u, wire.MESSAGE, {"n": n}) for n in range(5))
        for u in range(1, USERS + 1)
    }
    deadline = time.monotonic() + 30
    while any(len(c.ids) < 5 for c in reader.conns) and time.monotonic() < deadline:
        time.sleep(0.1)
    capacity = _capacity(gw, worker, rss_empty)
    for conn in reader.conns:
        conn.parser.retry = None  # from here on, only the drain's retry counts
    began = time.monotonic()
    gw.proc.send_signal(signal.SIGTERM)
    gw.proc.wait(60)
    exit_s = time.monotonic() - began
    deadline = time.monotonic() + 10
    while not all(c.closed for c in reader.conns) and time.monotonic() < deadline:
        time.sleep(0.1)
    reader.stop()

    retries = [c.parser.retry for c in reader.conns if c.parser.retry is not None]
    buckets = [0] * (WINDOW_MS // 1000)
    for retry in retries:
        buckets[min(len(buckets) - 1, (retry - RETRY_MS) // 1000)] += 1
    missed = sum(len(set(sent[c.user]) - set(c.ids)) for c in reader.conns)
    closed = sum(c.closed for c in reader.conns)
    print(
        f"\nR19 streams={STREAMS} closed={closed}/{STREAMS} "
        f"with_drain_retry={len(retries)}/{STREAMS} retry_ms_min={min(retries, default=0)} "
        f"retry_ms_max={max(retries, default=0)} histogram_1s_buckets={buckets} "
        f"missed={missed} worker_exit_s={exit_s:.2f} exit_code={gw.proc.returncode}"
    )
    print(capacity)
    assert capacity.endswith("next_stream_status=503 retry_after=yes")
    assert closed == STREAMS and len(retries) == STREAMS and missed == 0
    assert all(RETRY_MS <= r <= RETRY_MS + WINDOW_MS for r in retries)
    assert len(set(retries)) > STREAMS // 10, "the retry must be jittered"
    assert all(buckets), "the reconnects must spread over the whole window"
