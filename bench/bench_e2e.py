"""Benchmark 4: ``monitio.add_message`` in a real view -> Celery worker -> Redis ->
gateway -> an SSE client, at 100 and 500 messages per second.

Django runs under ``gunicorn -w 2`` (sync workers) on the benchmark's SQLite file,
one ``celery worker -c 2`` (prefork) writes the rows and publishes, one gateway
process serves the streams. ``users`` logged-in users each hold one stream; an
open-loop generator requests ``/notify/?seq=N`` (round robin over the users) at the
given rate, each request a new connection. The view stamps ``time.time()`` into the
message at the call; the latency is from that stamp until the message's event
reached the client (the row's text carries the stamp, read back afterwards).
One second at 100/s warms the processes up first; it is recorded (``"warmup"``)
but not among the measured runs.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from typing import Any

from bench import harness, report, site
from bench.loadclient import LoadClient

try:
    import uvloop
except ImportError:
    uvloop = None

_STAMP = re.compile(r"bench#(\d+)@([0-9.]+)")


async def _request(
    port: int, seq: int, session: str, sent: dict[int, float], status: dict[int, bytes]
) -> None:
    sent[seq] = time.time()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /notify/?seq={seq} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: sessionid={session}\r\nConnection: close\r\n\r\n".encode()
        )
        head = await reader.read(12)
        status[seq] = head[9:12]
        while await reader.read(65536):
            pass
        writer.close()
    except OSError as exc:
        status[seq] = str(exc).encode()[:20]


async def _generate(
    port: int,
    rate: int,
    seconds: float,
    first_seq: int,
    users: list[int],
    sessions: dict[int, str],
):
    sent: dict[int, float] = {}
    status: dict[int, bytes] = {}
    tasks = []
    total = int(rate * seconds)
    start = time.monotonic()
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        seq = first_seq + i
        user = users[i % len(users)]
        tasks.append(
            asyncio.create_task(_request(port, seq, sessions[user], sent, status))
        )
    send_s = time.monotonic() - start
    await asyncio.gather(*tasks)
    return sent, status, send_s


def _stamps(first: int, last: int) -> dict[int, tuple[float, float | None]]:
    """Per request: the view's stamp, and when the worker marked the row published
    (after its publish to Redis returned)."""
    from monitio.models import Message

    stamps = {}
    rows = Message.objects.filter(message__startswith="bench#").values_list(
        "message", "published_at"
    )
    for text, published in rows:
        match = _STAMP.match(text)
        if match and first <= int(match[1]) < last:
            stamps[int(match[1])] = (
                float(match[2]), published.timestamp() if published else None
            )
    return stamps


def run_rate(
    rate: int,
    seconds: float,
    first_seq: int,
    django_port: int,
    client: LoadClient,
    users: list[int],
    sessions: dict[int, str],
    worker,
) -> dict[str, Any]:
    client.collect()
    cpu0 = harness.tree_cpu_seconds(worker)
    wall0 = time.monotonic()
    run = asyncio.run if uvloop is None else uvloop.run
    with harness.machine_load() as machine:
        sent, status, send_s = run(
            _generate(django_port, rate, seconds, first_seq, users, sessions)
        )
        ok = [s for s, code in status.items() if code == b"200"]
        arrivals = client.wait_for({s: 1 for s in ok}, timeout=60)
    wall = time.monotonic() - wall0
    stamps = _stamps(first_seq, first_seq + len(sent))
    latencies = [
        arrivals.events[s][1] - stamps[s][0]
        for s in ok
        if s in arrivals.events and s in stamps
    ]
    to_published = [
        stamps[s][1] - stamps[s][0] for s in ok if s in stamps and stamps[s][1] is not None
    ]
    from_request = [arrivals.events[s][1] - sent[s] for s in ok if s in arrivals.events]
    row = {
        "rate": rate,
        "seconds": seconds,
        "requests": len(sent),
        "ok": len(ok),
        "errors": len(sent) - len(ok),
        "achieved_rate": round(len(sent) / send_s, 1),
        "received": len(latencies),
        "add_message_to_client_ms": {
            k: (report.ms(v) if k != "n" else v)
            for k, v in report.spread(latencies).items()
        },
        # The worker's part: from the view's call until the row was marked published.
        "add_message_to_published_ms": {
            k: (report.ms(v) if k != "n" else v)
            for k, v in report.spread(to_published).items()
        },
        "request_to_client_ms": {
            k: (report.ms(v) if k != "n" else v)
            for k, v in report.spread(from_request).items()
        },
        "worker_cpu_pct": round(
            100 * (harness.tree_cpu_seconds(worker) - cpu0) / wall, 1
        ),
        "sse_client_cpu_pct": round(100 * arrivals.client_cpu / wall, 1),
        # The whole machine meanwhile: how busy its cores were, and how much of their
        # time the hypervisor gave to other guests (noisy runs show up here).
        "machine_busy_pct": machine["busy_pct"],
        "steal_pct": machine["steal_pct"],
    }
    print(f"  e2e {rate}/s: {row}", flush=True)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    seconds, runs = (3.0, 1) if args.quick else (8.0, 2)
    from bench import env as bench_env

    with bench_env.environment(database=True) as env:
        database = site.database()
        users = site.make_users(100, prefix="e2e")
        sessions = site.make_sessions(users)
        with (
            harness.gateway(env.redis_url) as gateway,
            harness.celery_worker(2) as worker,
            harness.django_server(2) as django,
            LoadClient(1, marker=rb"bench#(\d+)@") as client,
        ):
            opened, failed = client.connect(
                site.stream_specs(gateway.port, users, sessions)
            )
            assert opened == len(users), (opened, failed)
            celery = worker.proc.pid
            # Warm up (not measured): the first requests import the views, open the
            # database and broker connections and fork nothing yet warm in the pool.
            print("  warm-up (not measured):", flush=True)
            warm = run_rate(
                100, 1.0, 1, django.port, client, users, sessions, celery
            )
            rows, seq = [], warm["requests"] + 1
            for _ in range(runs):
                for rate in (100, 500):
                    rows.append(
                        run_rate(
                            rate,
                            seconds,
                            seq,
                            django.port,
                            client,
                            users,
                            sessions,
                            celery,
                        )
                    )
                    seq += rate * int(seconds) + 1
                    time.sleep(1)
    table = []
    for row in rows:
        lat = row["add_message_to_client_ms"]
        table.append(
            [
                row["rate"],
                row["achieved_rate"],
                row["ok"],
                row["received"],
                lat["p50"],
                lat["p99"],
                lat["max"],
                row["add_message_to_published_ms"]["p50"],
                row["add_message_to_published_ms"]["p99"],
                row["request_to_client_ms"]["p99"],
                row["worker_cpu_pct"],
                row["machine_busy_pct"],
                row["steal_pct"],
            ]
        )
    report.table(
        "End to end: add_message in a view -> SSE client (ms)",
        [
            "msg/s",
            "achieved req/s",
            "requests ok",
            "received",
            "p50",
            "p99",
            "max",
            "…to row published p50",
            "…to row published p99",
            "request->client p99",
            "celery CPU %",
            "machine busy %",
            "steal %",
        ],
        table,
    )
    report.write(
        "e2e",
        {
            "users": 100,
            "django_workers": 2,
            "celery_concurrency": 2,
            "database": database,
            "warmup": warm,
            "runs": rows,
        },
    )


if __name__ == "__main__":
    main()
