"""Benchmark 6: what one Celery worker (``-c 2``, prefork) persists and publishes.

It runs once per Celery broker, each in a process of its own: the benchmark's Redis
(what monitio's one-``LPUSH`` send is for) and RabbitMQ at ``BENCH_AMQP_URL`` (default
``amqp://guest:guest@127.0.0.1:5672//``, on a queue of the run's own, deleted after;
skipped with a note when it cannot be reached). Celery's consumer on Redis makes
three blocking round trips per task (fetch, unacked bookkeeping, ack), so a trivial
task's rate there is the ceiling of any one-message task; on RabbitMQ messages are
pushed to the worker and acknowledged without waiting. Events go through Redis on both.

* **messages/s**: ``messages`` messages queued while the worker's consumer is
  cancelled, in ``deliver`` tasks of one message each (what ``monitio.create_message``
  sends: the costliest shape) and of ten (``monitio.batch()`` around ten calls, or a
  request that adds ten); the clock starts when the consumer is added back and stops
  when every row exists and is marked published.
* **preferences**: the same, every message of a kind users may switch off
  (``bench.apps.KIND``), to 100 other users, half of them holding a stored choice for
  it (their e-mail off, which mutes nothing, so both variants store and publish the
  same): the worker reads the batch's preferences (one query) and applies them.
  Measured beside the kind-less messages (no preferences query) in the same run,
  worker and broker, twice each in mirrored order (A B B A, then B A A B in the next
  run; ``--kinds-first`` starts with B), as the rates drift during a run on a busy
  machine; the cost is ``1 - with / without``, each the mean of its two rates.
* **reference**: as many calls of a trivial task (``bench.tick``: one Redis ``INCR``)
  through the same worker and broker: Celery's own ceiling on this machine.
* **one message to many users**: ``monitio.create_messages`` to ``fanout_users``
  users, each with one stream open on the gateway: seconds from the call until all
  rows exist, and until every connected user has the event.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench import env as bench_env
from bench import harness, report, site
from bench.loadclient import LoadClient

BROKERS = ("redis", "rabbitmq")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _count(**filters: Any) -> int:
    from monitio.models import Message

    return Message.objects.filter(**filters).count()


def _drained(
    worker: int, queue: Callable[[], None], done: Callable[[], bool]
) -> dict[str, Any]:
    """Run ``queue`` while the worker's consumer is cancelled, then time the worker from
    ``add_consumer`` until ``done()``: seconds, and its CPU use meanwhile."""
    from bench.celery_app import app

    queue_name = app.conf.task_default_queue
    app.control.cancel_consumer(queue_name, reply=True, timeout=5, limit=1)
    t0 = time.monotonic()
    queue()
    enqueue_s = time.monotonic() - t0
    cpu0 = harness.tree_cpu_seconds(worker)
    start = time.monotonic()
    app.control.add_consumer(queue_name, reply=True, timeout=5, limit=1)
    while not done() and time.monotonic() - start < 120:
        time.sleep(0.02)
    seconds = time.monotonic() - start
    cpu = 100 * (harness.tree_cpu_seconds(worker) - cpu0) / seconds
    return {"enqueue_s": enqueue_s, "seconds": seconds, "worker_cpu_pct": round(cpu, 1)}


def messages_per_second(
    n: int, per_task: int, users: list[int], worker: int, run: int,
    kind: str | None = None, take: int = 0,
) -> dict[str, Any]:
    """``n`` messages in ``deliver`` tasks of ``per_task`` messages each: one task per
    ``monitio.create_message`` call, or ``per_task`` calls in one ``monitio.batch()``
    (the shape of a request that adds ``per_task`` messages, too); of ``kind``, or of
    none. ``take`` tells apart the measurements of one run and shape."""
    import monitio

    tag = f"rate{run}.{take}x{per_task}#"

    def queue() -> None:
        for first in range(0, n, per_task):
            with monitio.batch():
                for i in range(first, min(first + per_task, n)):
                    monitio.create_message(
                        users[i % len(users)], monitio.INFO, f"{tag}{i}", kind=kind
                    )

    def done() -> bool:
        return _count(message__startswith=tag, published_at__isnull=False) >= n

    timing = _drained(worker, queue, done)
    row = {
        "run": run + 1,
        "messages": n,
        "messages_per_task": per_task,
        "kind": kind,
        "enqueue_per_s": round(n / timing["enqueue_s"]),
        "published_s": round(timing["seconds"], 2),
        "messages_per_s": round(n / timing["seconds"]),
        "worker_cpu_pct": timing["worker_cpu_pct"],
    }
    print(f"  pipeline rate: {row}", flush=True)
    return row


def trivial_tasks_per_second(n: int, worker: int, run: int) -> dict[str, Any]:
    """The reference: ``n`` calls of a trivial task (``bench.tick``, which counts
    itself in Redis) through the same worker, broker and settings."""
    from bench.celery_app import tick
    from monitio import publish

    key = f"bench:tick:{run}"
    client = publish.get_client()

    def queue() -> None:
        for _ in range(n):
            tick.delay(key)

    timing = _drained(worker, queue, lambda: int(client.get(key) or 0) >= n)
    row = {
        "tasks": n,
        "tasks_per_s": round(n / timing["seconds"]),
        "worker_cpu_pct": timing["worker_cpu_pct"],
    }
    print(f"  trivial task rate: {row}", flush=True)
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


def preferences_cost(rates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per run and messages per task: the mean rate without a kind, with
    ``bench.apps.KIND`` (the preferences read and applied), and the cost,
    ``1 - with / without``."""
    costs = []
    for run, per_task in sorted({(r["run"], r["messages_per_task"]) for r in rates}):
        same = [r for r in rates if (r["run"], r["messages_per_task"]) == (run, per_task)]
        without, with_kind = (
            statistics.mean(r["messages_per_s"] for r in same if (r["kind"] is None) == plain)
            for plain in (True, False)
        )
        costs.append({
            "run": run,
            "messages_per_task": per_task,
            "without_per_s": round(without),
            "with_per_s": round(with_kind),
            "cost": round(1 - with_kind / without, 3),
        })
    return costs


def measure(
    quick: bool, kinds_first: bool = False, messages: int | None = None
) -> dict[str, Any]:
    """Every figure on the broker ``bench.settings`` names; ``messages`` per rate
    measurement instead of the default."""
    from bench.apps import KIND

    default, fanout_users, runs = (500, 1000, 1) if quick else (3000, 10_000, 2)
    messages = messages or default
    with bench_env.environment(database=True) as env:
        users = site.make_users(fanout_users, prefix="p")
        # Each variant its own 100 recipients: the unread counts the worker reads per
        # batch grow alike whichever variant runs first.
        recipients = {None: users[:100], KIND: users[100:200]}
        choices = site.make_preferences(recipients[KIND], KIND)
        rates, trivial, fanouts = [], [], []
        with (
            harness.gateway(env.redis_url) as gateway,
            harness.celery_worker(2) as worker,
            LoadClient(2, marker=rb"bench#(\d+)@") as client,
        ):
            opened, failed = client.connect(site.stream_specs(gateway.port, users))
            print(f"  {opened} streams open, {failed} failed", flush=True)
            for run in range(runs):
                order = (KIND, None) if kinds_first == (run % 2 == 0) else (None, KIND)
                for per_task in (1, 10):
                    for take, kind in enumerate((*order, *reversed(order))):
                        rates.append(
                            messages_per_second(
                                messages, per_task, recipients[kind], worker.proc.pid, run,
                                kind, take,
                            )
                        )
                trivial.append(trivial_tasks_per_second(messages, worker.proc.pid, run))
                fanouts.append(fanout(users, client, worker.proc.pid, run + 1))
        from django.conf import settings

        return {
            "database": site.database(),
            "prefetch_multiplier": settings.CELERY_WORKER_PREFETCH_MULTIPLIER,
            "rate": [r for r in rates if r["kind"] is None],
            "preferences": {
                "kind": KIND,
                "recipients": 100,
                "recipients_with_a_choice": choices,
                "kinds_first": kinds_first,
                "rate": [r for r in rates if r["kind"] is not None],
                "cost": preferences_cost(rates),
            },
            "trivial_task": trivial,
            "fanout": fanouts,
            "streams_open": opened,
        }


def _broker_env(broker: str) -> dict[str, str] | None:
    """Environment variables giving ``bench.settings`` this broker (``None`` when it
    cannot be reached)."""
    if broker == "redis":
        return {"BENCH_BROKER_URL": "", "BENCH_QUEUE": ""}
    from kombu import Connection

    try:
        with Connection(AMQP_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure means: not measured
        print(f"RabbitMQ at {AMQP_URL} not usable ({exc}); skipped.", flush=True)
        return None
    return {
        "BENCH_BROKER_URL": AMQP_URL,
        "BENCH_QUEUE": f"bench-pipeline-{os.getpid()}",
    }


def _measure_in_child(broker: str, args: argparse.Namespace) -> dict[str, Any] | None:
    env = _broker_env(broker)
    if env is None:
        return None
    try:
        child_args = (
            (["--quick"] if args.quick else [])
            + (["--kinds-first"] if args.kinds_first else [])
            + (["--messages", str(args.messages)] if args.messages else [])
        )
        return bench_env.measure_in_child("bench.bench_pipeline", env, child_args)
    finally:
        if env["BENCH_QUEUE"]:
            from kombu import Connection

            with Connection(AMQP_URL) as conn:
                conn.default_channel.queue_delete(env["BENCH_QUEUE"])


def summarize(by_broker: dict[str, dict[str, Any]]) -> None:
    from bench.apps import KIND

    rates, fanouts = [], []
    for broker, data in by_broker.items():
        trivial = data["trivial_task"]
        rates += [
            [
                broker,
                r["run"],
                r["messages"],
                r["messages_per_task"],
                r["published_s"],
                r["messages_per_s"],
                r["worker_cpu_pct"],
                report.ratio(r["messages_per_s"], trivial[r["run"] - 1]["tasks_per_s"]),
            ]
            for r in data["rate"]
        ] + [
            [
                broker,
                i + 1,
                "-",
                "trivial task",
                round(t["tasks"] / t["tasks_per_s"], 2),
                f"{t['tasks_per_s']} tasks/s",
                t["worker_cpu_pct"],
                1.0,
            ]
            for i, t in enumerate(trivial)
        ]
        fanouts += [
            [
                broker,
                i + 1,
                f["users"],
                data["streams_open"],
                f["rows_s"],
                f["all_received_s"],
                f["worker_cpu_pct"],
            ]
            for i, f in enumerate(data["fanout"])
        ]
    report.table(
        "Pipeline: one worker, concurrency 2 (messages persisted and published)",
        [
            "broker",
            "run",
            "messages",
            "per task",
            "seconds",
            "messages/s",
            "worker CPU %",
            "vs trivial tasks/s (same run)",
        ],
        rates,
    )
    report.table(
        "Pipeline: one message to every user (create_messages)",
        [
            "broker",
            "run",
            "users",
            "connected",
            "rows exist (s)",
            "all received (s)",
            "worker CPU %",
        ],
        fanouts,
    )
    report.table(
        f"Pipeline: preferences' cost (messages of kind {KIND!r}, half the recipients "
        "with a stored choice, vs no kind; same run, worker and broker)",
        ["broker", "run", "per task", "messages/s without", "messages/s with", "cost"],
        [
            [broker, c["run"], c["messages_per_task"], c["without_per_s"], c["with_per_s"],
             f"{100 * c['cost']:.1f} %"]
            for broker, data in by_broker.items()
            for c in data["preferences"]["cost"]
        ],
    )
    first = by_broker.get("redis") or next(iter(by_broker.values()))
    report.write(
        "pipeline",
        {
            "celery_concurrency": 2,
            "pool": "prefork",
            # The summary's rows without a broker read these: the Redis broker's.
            **first,
            "brokers": by_broker,
        },
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--brokers", nargs="*", choices=BROKERS, default=list(BROKERS))
    parser.add_argument(
        "--kinds-first", action="store_true",
        help="measure the messages with a kind before those without in the first run",
    )
    parser.add_argument(
        "--messages", type=int,
        help="messages per rate measurement (default 3,000; --quick: 500)",
    )
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_out:
        with open(args.child_out, "w") as out:
            json.dump(measure(args.quick, args.kinds_first, args.messages), out)
        return
    by_broker = {}
    for broker in args.brokers:
        data = _measure_in_child(broker, args)
        if data is not None:
            by_broker[broker] = data
    summarize(by_broker)


if __name__ == "__main__":
    main()
