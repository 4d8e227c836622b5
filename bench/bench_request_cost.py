"""Benchmark 5: the time a view spends adding messages.

Each sample is one request's worth of work, in this process, with the real broker
(Redis) and a real database: the request's session is already loaded (as the
authentication middleware leaves it), then the clock runs over the view's calls, the
message middleware's ``update(response)`` (where monitio hands the request's messages
to the broker in one batch and sets its carry cookie) and the session save when it was
modified.

Variants, with one and with ten messages per request (and, for scale, one Redis
round trip: a ``PING`` on a kept connection, the least a request that waits for
the broker's answer can spend):

* ``monitio``: ``monitio.add_message`` with ``PersistentMessageStorage``;
* ``django-session``: stock ``django.contrib.messages`` with ``SessionStorage``;
* ``sync-insert``: ``Message.objects.create`` per message in autocommit, what the
  original library did inside the request (Django's default, one commit each);
* ``sync-insert-atomic``: the same inserts in one transaction, as on a site with
  ``ATOMIC_REQUESTS`` (one commit per request).

The original library inserted on the site's database, so the whole measurement runs
once per database, each in a process of its own on a database of its own: SQLite
(WAL, ``synchronous=NORMAL``: no fsync at commit, the cheapest insert there is) and
PostgreSQL (default settings: a WAL flush at every commit). ``BENCH_POSTGRES_URL``
names the PostgreSQL server; a scratch database is created there and dropped after.

The samples of all variants are interleaved (a shuffled round robin), so that load
from other processes on the machine falls on every variant alike. It also counts the
commands the broker's Redis received during each request (server-wide: nothing else
uses this benchmark's Redis meanwhile).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from typing import Any

from bench import env as bench_env
from bench import harness, report

DATABASES = ("sqlite", "postgresql")


def _setup():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("cost", password="x")


def _session(user):
    """A fresh logged-in session per sample: messages left in one (nothing reads
    them here) must not make the next sample's session bigger."""
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    return SessionStore(session.session_key)


def _variants(user) -> dict[str, tuple[type, Callable[[Any, int], None]]]:
    from django.contrib import messages as django_messages
    from django.contrib.messages.storage.session import SessionStorage
    from django.db import transaction

    import monitio
    from monitio.models import Message
    from monitio.storage import PersistentMessageStorage

    def add_monitio(request, k: int) -> None:
        for i in range(k):
            monitio.add_message(request, monitio.INFO, f"Report {i} is ready.")

    def add_django(request, k: int) -> None:
        for i in range(k):
            django_messages.add_message(
                request, django_messages.INFO, f"Report {i} is ready."
            )

    def insert(request, k: int) -> None:
        for i in range(k):
            Message.objects.create(
                user=user, level=monitio.INFO, message=f"Report {i} is ready."
            )

    def insert_atomic(request, k: int) -> None:
        with transaction.atomic():
            insert(request, k)

    return {
        "monitio": (PersistentMessageStorage, add_monitio),
        "django-session": (SessionStorage, add_django),
        "sync-insert": (SessionStorage, insert),
        "sync-insert-atomic": (SessionStorage, insert_atomic),
    }


def _sample(user, storage_cls: type, body, k: int) -> tuple[float, float]:
    """One request's time: in all, and in the view's calls alone."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    request.session = _session(user)
    request.session.get("_auth_user_id")  # loaded, as after AuthenticationMiddleware
    request._messages = storage_cls(request)
    start = time.perf_counter()
    body(request, k)
    called = time.perf_counter()
    request._messages.update(HttpResponse())
    if request.session.modified:
        request.session.save()
    return time.perf_counter() - start, called - start


def _broker_commands(client) -> int:
    """Commands the server has run so far, not counting this ``INFO``."""
    return int(client.info("stats")["total_commands_processed"])


def measure(samples: int, redis_url: str) -> dict[str, Any]:
    """``samples`` requests of every variant, interleaved in a shuffled round robin so
    that load from other processes falls on every variant alike."""
    import redis

    import bench.celery_app  # noqa: F401 - the current Celery app, as in a site

    counter = redis.Redis.from_url(redis_url)
    counter.ping()  # connected (and its handshake counted) before any count
    user = _setup()
    variants = [
        (f"{name}-{k}", storage_cls, body, k)
        for name, (storage_cls, body) in _variants(user).items()
        for k in (1, 10)
    ]
    for _ in range(20):  # warm: connections, caches
        for _, storage_cls, body, k in variants:
            _sample(user, storage_cls, body, k)
    times: dict[str, list[float]] = {key: [] for key, *_ in variants}
    in_calls: dict[str, list[float]] = {key: [] for key, *_ in variants}
    commands = dict.fromkeys(times, 0)
    # The floor of any request that waits for the broker: one round trip (PING) on
    # a kept connection, sampled in the same round robin.
    pinger = redis.Redis.from_url(redis_url)
    pinger.ping()
    round_trips: list[float] = []
    shuffled, order = [*variants, None], random.Random(6)
    for _ in range(samples):
        order.shuffle(shuffled)
        for variant in shuffled:
            # An INFO before every sample, the PING's too, so all wake Redis alike.
            before = _broker_commands(counter)
            if variant is None:
                start = time.perf_counter()
                pinger.ping()
                round_trips.append(time.perf_counter() - start)
                continue
            key, storage_cls, body, k = variant
            total, called = _sample(user, storage_cls, body, k)
            times[key].append(total)
            in_calls[key].append(called)
            # The first INFO is counted by the second one.
            commands[key] += _broker_commands(counter) - before - 1
    counter.close()
    pinger.close()
    results = {
        key: {
            "messages": k,
            "samples": samples,
            "us": report.micros(times[key]),
            # of that, in the view's calls (add_message or the insert); the rest is
            # the response's update() and the session save
            "calls_us": report.micros(in_calls[key]),
            "redis_commands_per_request": round(commands[key] / samples, 2),
        }
        for key, _, _, k in variants
    }
    results["redis-round-trip"] = {
        "messages": 0,
        "samples": samples,
        "us": report.micros(round_trips),
        "redis_commands_per_request": 1.0,
    }
    return results


def _database_info() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA journal_mode")
            journal = cursor.fetchone()[0]
            cursor.execute("PRAGMA synchronous")
            sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[cursor.fetchone()[0]]
            cursor.execute("select sqlite_version()")
            version = cursor.fetchone()[0]
            settings = f"journal_mode={journal}, synchronous={sync}"
            return {"vendor": "sqlite", "version": version, "settings": settings}
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        commit = cursor.fetchone()[0]
        cursor.execute("SHOW fsync")
        fsync = cursor.fetchone()[0]
        settings = f"synchronous_commit={commit}, fsync={fsync}"
        return {"vendor": connection.vendor, "version": version, "settings": settings}


def measure_database(samples: int, runs: int) -> dict[str, Any]:
    """Every run on the database ``bench.settings`` names; the median run by monitio-1."""

    with bench_env.environment(database=True) as env:
        repeats, machine = [], []
        for _ in range(runs):
            from django.contrib.auth import get_user_model

            get_user_model().objects.filter(username="cost").delete()
            with harness.machine_load() as load:
                repeats.append(measure(samples, env.redis_url))
            machine.append(load)
        info = _database_info()
    median = sorted(repeats, key=lambda r: r["monitio-1"]["us"]["p50"])[len(repeats) // 2]
    # runs and machine stay in run order: the machine's load during each run
    return {"database": info, "variants": median, "runs": repeats, "machine": machine}


def summarize(by_database: dict[str, dict[str, Any]]) -> None:
    rows = []
    for kind, data in by_database.items():
        results, repeats = data["variants"], data["runs"]
        for key, row in results.items():
            k = row["messages"] or 1
            sync = results[f"sync-insert-{k}"]["us"]["p50"]
            p50s = [r[key]["us"]["p50"] for r in repeats]
            rows.append(
                [
                    kind,
                    key,
                    row["us"]["p50"],
                    row["us"]["p99"],
                    row.get("calls_us", {}).get("p50", ""),
                    f"{min(p50s):.0f}-{max(p50s):.0f}",
                    report.ratio(row["us"]["p50"], sync),
                    row["redis_commands_per_request"],
                ]
            )
    report.table(
        "Request cost: time a view spends adding messages (µs)",
        [
            "database",
            "variant-messages",
            "p50",
            "p99",
            "p50 in the view's calls",
            "p50 range over runs",
            "p50 / sync insert (same database)",
            "Redis commands / request",
        ],
        rows,
    )
    for kind, data in by_database.items():
        info = data["database"]
        print(f"{kind}: {info['vendor']} {info['version']} ({info['settings']})")
        loads = ", ".join(
            f"busy {m['busy_pct']} %, steal {m['steal_pct']} %" for m in data["machine"]
        )
        print(f"{kind}: the machine during each run: {loads}")
    first = by_database.get("sqlite") or next(iter(by_database.values()))
    report.write(
        "request_cost",
        {
            # The target rows of the summary read these: SQLite, the cheapest insert.
            "variants": first["variants"],
            "runs": first["runs"],
            "databases": by_database,
        },
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--samples", type=int, help="requests per variant and run")
    parser.add_argument("--runs", type=int, help="repetitions of the whole measurement")
    parser.add_argument(
        "--databases", nargs="*", choices=DATABASES, default=list(DATABASES)
    )
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    samples, runs = (100, 2) if args.quick else (400, 3)
    samples, runs = args.samples or samples, args.runs or runs
    if args.child_out:
        with open(args.child_out, "w") as out:
            json.dump(measure_database(samples, runs), out)
        return
    by_database = bench_env.on_databases(
        "bench.bench_request_cost",
        args.databases,
        ["--samples", str(samples), "--runs", str(runs)],
    )
    summarize(by_database)


if __name__ == "__main__":
    main()
