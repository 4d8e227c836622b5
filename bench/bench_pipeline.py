"""Benchmark 6: what one Celery worker (``-c 2``, prefork) persists and publishes.

* **messages/s**: ``messages`` calls of ``monitio.create_message`` (one task per
  message, the costliest shape) are queued while the worker's consumer is
  cancelled; the clock starts when the consumer is added back and stops when every
  row exists and is marked published.
* **one message to many users**: ``monitio.create_messages`` to ``fanout_users``
  users, each with one stream open on the gateway: seconds from the call until all
  rows exist, and until every connected user has the event.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench import harness, report, site
from bench.loadclient import LoadClient


def _count(**filters: Any) -> int:
    from monitio.models import Message

    return Message.objects.filter(**filters).count()


def messages_per_second(n: int, users: list[int], worker, run: int) -> dict[str, Any]:
    import monitio
    from bench.celery_app import app

    app.control.cancel_consumer("celery", reply=True, timeout=5, limit=1)
    t0 = time.monotonic()
    for i in range(n):
        monitio.create_message(users[i % len(users)], monitio.INFO, f"rate{run}#{i}")
    enqueue_s = time.monotonic() - t0
    cpu0 = harness.tree_cpu_seconds(worker)
    start = time.monotonic()
    app.control.add_consumer("celery", reply=True, timeout=5, limit=1)
    stored_at = None
    while time.monotonic() - start < 120:
        stored = _count(message__startswith=f"rate{run}#")
        if stored >= n and stored_at is None:
            stored_at = time.monotonic() - start
        if (
            stored >= n
            and _count(message__startswith=f"rate{run}#", published_at__isnull=False)
            >= n
        ):
            break
        time.sleep(0.05)
    done = time.monotonic() - start
    row = {
        "messages": n,
        "enqueue_per_s": round(n / enqueue_s),
        "stored_s": round(stored_at or done, 2),
        "published_s": round(done, 2),
        "messages_per_s": round(n / done),
        "worker_cpu_pct": round(
            100 * (harness.tree_cpu_seconds(worker) - cpu0) / done, 1
        ),
    }
    print(f"  pipeline rate: {row}", flush=True)
    return row


def fanout(users: list[int], client: LoadClient, worker, seq: int) -> dict[str, Any]:
    import monitio

    client.collect()
    cpu0 = harness.tree_cpu_seconds(worker)
    t0 = time.time()
    monitio.create_messages(users, monitio.INFO, f"bench#{seq}@ to everyone")
    call_s = time.time() - t0
    rows_at = None
    while time.time() - t0 < 120:
        if _count(message=f"bench#{seq}@ to everyone") >= len(users):
            rows_at = time.time() - t0
            break
        time.sleep(0.05)
    arrivals = client.wait_for({seq: len(users)}, timeout=120)
    count, first, last = arrivals.events.get(seq, (0, t0, t0))
    row = {
        "users": len(users),
        "call_ms": report.ms(call_s),
        "rows_s": None if rows_at is None else round(rows_at, 2),
        "received": int(count),
        "first_received_s": round(first - t0, 3),
        "all_received_s": round(last - t0, 2) if count >= len(users) else None,
        "worker_cpu_pct": round(
            100 * (harness.tree_cpu_seconds(worker) - cpu0) / max(last - t0, 0.001), 1
        ),
        "client_cpu_pct": round(100 * arrivals.client_cpu / max(last - t0, 0.001), 1),
    }
    print(f"  pipeline fan-out: {row}", flush=True)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    messages, fanout_users, runs = (500, 1000, 1) if args.quick else (3000, 10_000, 2)
    from bench import env as bench_env

    with bench_env.environment(database=True) as env:
        users = site.make_users(fanout_users, prefix="p")
        rates, fanouts = [], []
        with (
            harness.gateway(env.redis_url) as gateway,
            harness.celery_worker(2) as worker,
            LoadClient(2, marker=rb"bench#(\d+)@") as client,
        ):
            opened, failed = client.connect(site.stream_specs(gateway.port, users))
            print(f"  {opened} streams open, {failed} failed", flush=True)
            for run in range(runs):
                rates.append(
                    messages_per_second(messages, users[:100], worker.proc.pid, run)
                )
                fanouts.append(fanout(users, client, worker.proc.pid, run + 1))
    report.table(
        "Pipeline: one worker, concurrency 2",
        [
            "run",
            "messages",
            "stored (s)",
            "published (s)",
            "messages/s",
            "worker CPU %",
        ],
        [
            [
                i + 1,
                r["messages"],
                r["stored_s"],
                r["published_s"],
                r["messages_per_s"],
                r["worker_cpu_pct"],
            ]
            for i, r in enumerate(rates)
        ],
    )
    report.table(
        "Pipeline: one message to every user (create_messages)",
        [
            "run",
            "users",
            "connected",
            "rows exist (s)",
            "all received (s)",
            "worker CPU %",
        ],
        [
            [
                i + 1,
                f["users"],
                opened,
                f["rows_s"],
                f["all_received_s"],
                f["worker_cpu_pct"],
            ]
            for i, f in enumerate(fanouts)
        ],
    )
    from django.conf import settings

    report.write(
        "pipeline",
        {
            "celery_concurrency": 2,
            "pool": "prefork",
            "database": site.database(),
            "prefetch_multiplier": settings.CELERY_WORKER_PREFETCH_MULTIPLIER,
            "rate": rates,
            "fanout": fanouts,
            "streams_open": opened,
        },
    )


if __name__ == "__main__":
    main()
