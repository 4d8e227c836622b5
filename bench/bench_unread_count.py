"""Benchmark: the unread count, with and without the partial index that covers it.

Every live event carries the recipient's unread count: one call of
``monitio.delivery.unread_counts`` per delivered batch and per read/unread/delete
(``state.unread_count`` is the same call). Each sample times one call for one user,
in this process, on a real database. Three users have 0, 1,000 and 10,000 unread
persistent messages (one in ten with a future expiry); each also has 1,000 read
messages and 100 unread ones at a plain Django level, which the count leaves out.

Each run measures the count with the index ``monitio_unread_count`` (migration 0002),
drops it (``SchemaEditor.remove_index``), measures again, beside the query monitio
ran before the index came in (``"read" = %s``: the baseline), and builds it again. The
samples of the variants measured together are interleaved in a shuffled round robin,
so that load from other processes falls on them alike. The table gives the plan the
database chose.

It runs once per database, each in a process of its own on a scratch database:
SQLite (the benchmark settings: WAL; no ``ANALYZE``, as Django leaves a database) and
PostgreSQL after ``VACUUM ANALYZE`` (as autovacuum leaves a table).
``BENCH_POSTGRES_URL`` names the PostgreSQL server; the scratch database there is
dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench import env as bench_env
from bench import report
from monitio.constants import PERSISTENT_MESSAGE_LEVELS

DATABASES = ("sqlite", "postgresql")
UNREAD = (0, 1_000, 10_000)
INDEX = "monitio_unread_count"
Key = tuple[str, int]  # variant, unread messages


def _load() -> dict[int, Any]:
    """The users, by how many unread messages they have."""
    import datetime

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    import monitio
    from monitio.models import Message

    later = timezone.now() + datetime.timedelta(days=30)
    levels = PERSISTENT_MESSAGE_LEVELS
    users = {}
    for n in UNREAD:
        user = users[n] = get_user_model().objects.create_user(f"unread-{n}")
        rows = [
            Message(
                user=user,
                level=levels[i % len(levels)],
                message="m",
                expires=later if i % 10 == 0 else None,
            )
            for i in range(n)
        ]
        rows += [
            Message(user=user, level=monitio.INFO, message="m", read=True)
            for _ in range(1_000)
        ]
        rows += [Message(user=user, level=20, message="m") for _ in range(100)]
        Message.objects.bulk_create(rows, batch_size=1_000)
    return users


#: What is measured: whether the index is there, and which query runs. "before" is
#: the query before the index came in, ``"read" = FALSE`` (it bound ``False`` as a
#: parameter; the cached SQL swapped in has none), which SQLite does not take for the
#: index's condition ``NOT "read"``.
VARIANTS = {
    "with index": (True, "now"),
    "without index": (False, "now"),
    "before: old query, no index": (False, "before"),
}


def _queries() -> dict[str, str]:
    """The count's SQL: now, and before the index."""
    from django.db import connection

    from monitio import delivery

    levels = len(PERSISTENT_MESSAGE_LEVELS)
    sql = delivery._unread_counts_sql(connection, 1, levels)
    read = connection.ops.quote_name("read")
    before = sql.replace(f"NOT {read}", f"{read} = FALSE")
    assert before != sql
    return {"now": sql, "before": before}


def _count(user, query: str) -> Callable[[], Any]:
    """``unread_counts`` for ``user``, ready to run ``query``: the cached SQL of a
    one-user count is swapped, so that both queries pay the same Python."""
    from django.db import connection

    from monitio import delivery

    key = (connection.vendor, 1, len(PERSISTENT_MESSAGE_LEVELS))
    delivery._UNREAD_COUNTS_SQL[key] = query
    return partial(delivery.unread_counts, {user.pk})


def _plan(user, query: str) -> str:
    """The scans the database chooses for ``user``'s count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    count = _count(user, query)
    with CaptureQueriesContext(connection) as queries:
        count()
    sql = queries.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            return "; ".join(row[-1] for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN {sql}")
        lines = [row[0] for row in cursor.fetchall()]
    scans = [re.sub(r"\s+\(cost=.*", "", line).strip(" ->") for line in lines]
    return "; ".join(scan for scan in scans if "Scan" in scan)


def _sample(user, query: str) -> float:
    count = _count(user, query)
    start = time.perf_counter()
    count()
    return time.perf_counter() - start


def _round_robin(
    calls: dict[Key, tuple[Any, Any]], samples: int
) -> dict[Key, list[float]]:
    for call in calls.values():  # warm: connection, statement caches, pages
        for _ in range(10):
            _sample(*call)
    times: dict[Key, list[float]] = {key: [] for key in calls}
    order, shuffled = random.Random(7), list(calls.items())
    for _ in range(samples):
        order.shuffle(shuffled)
        for key, call in shuffled:
            times[key].append(_sample(*call))
    return times


def measure(samples: int, runs: int) -> dict[str, Any]:
    """Every variant and user, ``samples`` calls per run, on the database
    ``bench.settings`` names (migrated afresh)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from monitio.models import Message

    call_command("migrate", verbosity=0, interactive=False)
    users = _load()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {Message._meta.db_table}")
    queries = _queries()
    for query in queries.values():
        assert [_count(u, query)().get(u.pk, 0) for u in users.values()] == list(UNREAD)
    index = next(i for i in Message._meta.indexes if i.name == INDEX)
    times: dict[Key, list[list[float]]] = {(v, n): [] for v in VARIANTS for n in UNREAD}
    plans = {}
    for _ in range(runs):
        for indexed in (True, False):
            calls = {
                (v, n): (users[n], queries[query])
                for v, (with_index, query) in VARIANTS.items()
                if with_index == indexed
                for n in UNREAD
            }
            for key, call in calls.items():
                plans[key] = _plan(*call)
            for key, seconds in _round_robin(calls, samples).items():
                times[key].append(seconds)
            with connection.schema_editor() as editor:
                change = editor.remove_index if indexed else editor.add_index
                change(Message, index)
    return {
        "database": _database_info(),
        "rows": [
            {
                "unread": n,
                "variant": v,
                "plan": plans[v, n],
                "us": report.micros([t for run in times[v, n] for t in run]),
                "p50_us_by_run": [report.micros(run)["p50"] for run in times[v, n]],
            }
            for n in UNREAD
            for v in VARIANTS
        ],
    }


def _database_info() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
        else:
            cursor.execute("SHOW server_version")
        return {"vendor": connection.vendor, "version": cursor.fetchone()[0]}


def summarize(by_database: dict[str, dict[str, Any]], samples: int, runs: int) -> None:
    rows = []
    for kind, data in by_database.items():
        p50 = {(r["variant"], r["unread"]): r["us"]["p50"] for r in data["rows"]}
        for r in data["rows"]:
            rows.append(
                [
                    kind,
                    f"{r['unread']:,}",
                    r["variant"],
                    r["us"]["p50"],
                    r["us"]["p99"],
                    f"{min(r['p50_us_by_run']):,.0f}-{max(r['p50_us_by_run']):,.0f}",
                    report.ratio(r["us"]["p50"], p50["with index", r["unread"]]),
                    r["plan"],
                ]
            )
    report.table(
        "Unread count: one unread_counts() call for one user (µs)",
        [
            "database",
            "unread",
            "variant",
            "p50",
            "p99",
            "p50 range over runs",
            "p50 / with index",
            "plan",
        ],
        rows,
    )
    for kind, data in by_database.items():
        print(f"{kind}: {data['database']['vendor']} {data['database']['version']}")
    report.write(
        "unread_count",
        {"samples_per_run": samples, "runs": runs, "databases": by_database},
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--samples", type=int, help="calls per user, index state and run"
    )
    parser.add_argument(
        "--runs", type=int, help="repetitions (with, then without the index)"
    )
    parser.add_argument(
        "--databases", nargs="*", choices=DATABASES, default=list(DATABASES)
    )
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    samples, runs = (50, 1) if args.quick else (300, 3)
    samples, runs = args.samples or samples, args.runs or runs
    if args.child_out:
        with open(args.child_out, "w") as out:
            json.dump(measure(samples, runs), out)
        return
    by_database = bench_env.on_databases(
        "bench.bench_unread_count",
        args.databases,
        ["--samples", str(samples), "--runs", str(runs)],
    )
    summarize(by_database, samples, runs)


if __name__ == "__main__":
    main()
