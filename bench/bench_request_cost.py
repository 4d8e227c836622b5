"""Benchmark 5: the time a view spends adding messages.

Each sample is one request's worth of work, in this process, with the real broker
(Redis) and the real SQLite database: the request's session is already loaded (as
the authentication middleware leaves it), then the clock runs over the view's calls,
the message middleware's ``update(response)`` (where monitio hands the request's
messages to the broker in one batch) and the session save when it was modified.

Variants, with one and with ten messages per request:

* ``monitio``: ``monitio.add_message`` with ``PersistentMessageStorage``;
* ``django-session``: stock ``django.contrib.messages`` with ``SessionStorage``;
* ``sync-insert``: ``Message.objects.create`` per message, what the original
  library did inside the request.

It also counts the commands the broker's Redis received per request (all of them,
server-wide: nothing else uses this benchmark's Redis meanwhile).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from bench import report


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

    return {
        "monitio": (PersistentMessageStorage, add_monitio),
        "django-session": (SessionStorage, add_django),
        "sync-insert": (SessionStorage, insert),
    }


def _sample(user, storage_cls: type, body, k: int) -> float:
    from django.http import HttpResponse
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    request.session = _session(user)
    request.session.get("_auth_user_id")  # loaded, as after AuthenticationMiddleware
    request._messages = storage_cls(request)
    start = time.perf_counter()
    body(request, k)
    request._messages.update(HttpResponse())
    if request.session.modified:
        request.session.save()
    return time.perf_counter() - start


def _broker_commands(redis_url: str) -> int:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.info("stats")["total_commands_processed"])
    finally:
        client.close()


def measure(samples: int, redis_url: str) -> dict[str, Any]:
    import bench.celery_app  # noqa: F401 - the current Celery app, as in a site

    user = _setup()
    results: dict[str, Any] = {}
    for name, (storage_cls, body) in _variants(user).items():
        for k in (1, 10):
            for _ in range(20):  # warm: connections, caches
                _sample(user, storage_cls, body, k)
            before = _broker_commands(redis_url)
            times = [_sample(user, storage_cls, body, k) for _ in range(samples)]
            commands = (_broker_commands(redis_url) - before - 1) / samples
            results[f"{name}-{k}"] = {
                "messages": k,
                "samples": samples,
                "us": {
                    key: (round(v * 1e6, 1) if key != "n" and v is not None else v)
                    for key, v in report.spread(times).items()
                },
                "redis_commands_per_request": round(commands, 2),
            }
    return results


def summarize(results: dict[str, Any], repeats: list[dict[str, Any]]) -> None:
    rows = []
    for key, row in results.items():
        k = row["messages"]
        sync = results[f"sync-insert-{k}"]["us"]["p50"]
        p50s = [r[key]["us"]["p50"] for r in repeats]
        rows.append(
            [
                key,
                row["us"]["p50"],
                row["us"]["p99"],
                f"{min(p50s):.0f}-{max(p50s):.0f}",
                report.ratio(row["us"]["p50"], sync),
                row["redis_commands_per_request"],
            ]
        )
    report.table(
        "Request cost: time a view spends adding messages (µs)",
        [
            "variant-messages",
            "p50",
            "p99",
            "p50 range over runs",
            "p50 / sync insert",
            "Redis commands / request",
        ],
        rows,
    )
    report.write("request_cost", {"variants": results, "runs": repeats})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--samples", type=int, help="requests per variant and run")
    parser.add_argument("--runs", type=int, help="repetitions of the whole measurement")
    args = parser.parse_args(argv)
    samples, runs = (100, 2) if args.quick else (400, 3)
    samples, runs = args.samples or samples, args.runs or runs
    from bench import env as bench_env

    with bench_env.environment(database=True) as env:
        repeats = []
        for _ in range(runs):
            from django.contrib.auth import get_user_model

            get_user_model().objects.filter(username="cost").delete()
            repeats.append(measure(samples, env.redis_url))
        # Report the median run (by the monitio-1 p50); the table shows the range.
        repeats.sort(key=lambda r: r["monitio-1"]["us"]["p50"])
        summarize(repeats[len(repeats) // 2], repeats)


if __name__ == "__main__":
    main()
