"""Benchmark: what reading and applying preferences costs the worker, in process.

``monitio.delivery.deliver`` runs here, without a broker or worker, on the benchmark's
SQLite database and its own Redis server, for batches of 1, 10 and 100 payloads (a
``deliver`` task of one ``create_message``, of a ``monitio.batch()`` of ten, and a
coalesced batch): messages without a kind (no preferences query: their kind cannot be
switched off in-app) and messages of ``bench.apps.KIND``, which users may switch off,
to 100 users, half of them holding a stored choice for it (their e-mail off: it mutes
nothing, so both variants store and publish the same). The variants alternate, batch
by batch, so that load on the machine falls on both alike. Per variant and size: the
time of one ``deliver`` (p50 and spread) and its SQL statements by kind (Django's
``CaptureQueriesContext``); the cost is ``1 - without / with`` p50, the share of
messages/s lost. ``--profile`` then profiles as many one-message batches with a kind
(cProfile). ``bench_pipeline`` measures the same through a worker and broker. Not in ``run_all``:
``.venv/bin/python -m bench.bench_preferences [--quick] [--profile]`` →
``results/preferences.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections import Counter
from typing import Any

from bench import env as bench_env
from bench import report, site

SIZES = (1, 10, 100)
RECIPIENTS = 100


def measure(repetitions: int, profile: bool = False) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    import monitio
    from bench.apps import KIND
    from monitio import delivery, payloads

    users = site.make_users(RECIPIENTS, prefix="q")
    choices = site.make_preferences(users, KIND)
    sent = 0

    def batch(size: int, kind: str | None) -> list[dict[str, Any]]:
        nonlocal sent
        first, sent = sent, sent + size
        return [payloads.build(user_id=users[i % RECIPIENTS], level=monitio.INFO,
                               message=f"comment {i}", kind=kind)
                for i in range(first, first + size)]

    for kind in (None, KIND):  # warm-up: connections, compiled queries
        delivery.deliver(batch(RECIPIENTS, kind))
    sizes: dict[str, Any] = {}
    for size in SIZES:
        times: dict[str, list[float]] = {"without": [], "with": []}
        statements: dict[str, Counter] = {"without": Counter(), "with": Counter()}
        order = [("without", None), ("with", KIND)]
        for rep in range(repetitions):
            for name, kind in order if rep % 2 == 0 else order[::-1]:
                messages = batch(size, kind)
                with CaptureQueriesContext(connection) as queries:
                    start = time.perf_counter()
                    delivery.deliver(messages)
                    times[name].append(time.perf_counter() - start)
                statements[name].update(q["sql"].split()[0].upper() for q in queries)
        variants = {
            name: {
                "deliver_us": report.micros(times[name]),
                "sql_per_deliver": {
                    k: v / repetitions for k, v in sorted(statements[name].items())
                },
            }
            for name in times
        }
        without, with_kind = (variants[n]["deliver_us"]["p50"] for n in times)
        sizes[str(size)] = {**variants, "cost": round(1 - without / with_kind, 3)}
    data: dict[str, Any] = {
        "kind": KIND,
        "recipients": RECIPIENTS,
        "recipients_with_a_choice": choices,
        "repetitions": repetitions,
        "batches": sizes,
    }
    if profile:  # after the timings, which it would slow down
        profiler = cProfile.Profile()
        for _ in range(repetitions):
            messages = batch(1, KIND)
            profiler.enable()
            delivery.deliver(messages)
            profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        data["profile"] = out.getvalue()
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--profile", action="store_true",
        help="then cProfile one-message batches with a kind; print the top 40",
    )
    args = parser.parse_args()
    with bench_env.environment(database=True):
        data = measure(40 if args.quick else 200, args.profile)
    profile = data.pop("profile", None)
    report.write("preferences", data)
    report.table(
        f"deliver(): messages of kind {data['kind']!r} "
        f"({data['recipients_with_a_choice']} of {data['recipients']} recipients with a "
        "stored choice) vs without a kind, "
        f"{data['repetitions']} batches each, alternating",
        ["messages per batch", "variant", "p50 µs", "p99 µs",
         "SQL statements per deliver", "cost (1 - without / with p50)"],
        [
            [size, name, v["deliver_us"]["p50"], v["deliver_us"]["p99"],
             ", ".join(f"{k} {c:g}" for k, c in v["sql_per_deliver"].items()),
             f"{100 * batch['cost']:.1f} %" if name == "with" else ""]
            for size, batch in data["batches"].items()
            for name, v in batch.items() if name != "cost"
        ],
    )
    if profile:
        print(profile)


if __name__ == "__main__":
    main()
