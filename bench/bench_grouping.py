"""Benchmark: what one grouped update costs the worker (``monitio.grouping``).

One user's group is opened, then ``N`` more messages with its key are delivered one by
one (``monitio.delivery.deliver([payload])``, as a ``deliver`` task of one message
runs it), in this process, on the benchmark's SQLite database and its own Redis
server. Counted per update: SQL statements by kind (Django's
``CaptureQueriesContext``), Redis commands by name (the server's ``INFO
commandstats`` before and after: commands a Lua script runs count under their own
names, the script call under ``evalsha``) and the time of one delivery. Two variants:
messages without a sender, and with one of three senders (whose names the worker
loads, one ``SELECT``, as for any message with a sender). Beside them: one
ungrouped message per delivery.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

from bench import env as bench_env
from bench import report


def _commandstats(client) -> Counter:
    stats = client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): v["calls"] for name, v in stats.items()})


def measure(n: int, redis_url: str) -> dict[str, Any]:
    import redis
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    import monitio
    from monitio import delivery, payloads
    from monitio.models import Message

    client = redis.Redis.from_url(f"{redis_url}/0")
    User = get_user_model()
    senders = [User.objects.create_user(f"sender-{i}") for i in range(3)]
    variants: dict[str, Any] = {}
    for variant in ("grouped", "grouped-with-sender", "ungrouped"):
        user = User.objects.create_user(f"recipient-{variant}")
        key = None if variant == "ungrouped" else "post-1"

        def payload(i: int) -> dict[str, Any]:
            sender = senders[i % 3].pk if variant == "grouped-with-sender" else None
            return payloads.build(user_id=user.pk, level=monitio.INFO, message=f"comment {i}",
                                  from_user_id=sender, group_key=key)

        delivery.deliver([payload(0)])  # opens the group
        statements: Counter = Counter()
        times = []
        before = _commandstats(client)
        for i in range(1, n + 1):
            message = payload(i)
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                delivery.deliver([message])
                times.append(time.perf_counter() - start)
            statements.update(q["sql"].split()[0].upper() for q in queries)
        commands = _commandstats(client) - before
        commands["info"] -= 1  # the INFO that took the second count
        rows = Message.objects.filter(user=user)
        variants[variant] = {
            "deliveries": n,
            "rows": rows.count(),
            "group_count": max(rows.values_list("group_count", flat=True)),
            "sql_per_delivery": {k: v / n for k, v in sorted(statements.items())},
            "redis_commands_per_delivery": {k: v / n for k, v in sorted(commands.items()) if v},
            "delivery_us": report.micros(times),
        }
    return {"n": n, "variants": variants}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with bench_env.environment(database=True) as env:
        data = measure(50 if args.quick else 500, env.redis_url)
    report.write("grouping", data)
    rows = []
    for name, v in data["variants"].items():
        sql = ", ".join(f"{k} {c:g}" for k, c in v["sql_per_delivery"].items())
        cmds = ", ".join(f"{k} {c:g}" for k, c in v["redis_commands_per_delivery"].items())
        rows.append([name, v["rows"], v["group_count"], sql, cmds, v["delivery_us"]["p50"]])
    report.table(
        f"grouped updates: cost per delivery of one message ({data['n']} deliveries)",
        ["variant", "rows", "count", "SQL statements", "Redis commands", "p50 µs"],
        rows,
    )


if __name__ == "__main__":
    main()
