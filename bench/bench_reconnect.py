"""Benchmark 5: a reconnect storm. N streams are open; the server restarts in place
(same port); all N reconnect at once, the way browsers do after a deploy.

Per server (the gateway, then nginx+nchan under the same storm):

1. start it and open N subscribers (gateway: N users with their stream tokens;
   nchan: channels ``u<i>``); the gateway's users each get one event, so each
   reconnect carries the ``Last-Event-ID`` a browser would send and the gateway does
   its whole connect: token check, revocation lookup, history read;
2. stop it (SIGTERM) and start a new process on the same port; once it answers,
   open the N streams again, all at once (the load client's processes start before
   the restart, so their start-up is not counted);
3. figures: the time from the SIGTERM and from the storm's start until every
   stream is answered ``200`` again, and the new worker process's CPU time
   (``utime + stime`` from ``/proc/<pid>/stat``) during the storm, per stream opened.

nchan's subscribers send no ``Last-Event-ID``: its channels hold no message here, so
a reconnect is a subscription, its cheapest path. ``--targets floor`` runs the storm
against the gateway's worker class serving ``bench/floor_app.py`` (it takes the
connection and writes a stream head, nothing else): the part of the gateway's figure
that is the Python server's, not monitio's.

Writes ``reconnect.json``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from bench import harness, publishers, report
from bench.bench_gateway import start_profile, stop_profile
from bench.loadclient import LoadClient, sse_request

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int:
    """``utime + stime`` of ``pid``, in clock ticks (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as stat:
        # Fields after the command name, which is in parentheses and may hold spaces.
        fields = stat.read().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15


def _start(kind: str, redis_url: str, port: int | None) -> harness.Service:
    if kind == "gateway":
        return harness.gateway(redis_url, port=port)
    if kind == "floor":
        return harness.floor(port=port)
    return harness.nchan(port=port)


def _specs(
    kind: str, port: int, n: int, last_ids: list[str]
) -> list[tuple[int, bytes]]:
    if kind == "nchan":
        return [(port, sse_request(port, f"/sub/u{i}")) for i in range(n)]
    if kind == "floor":
        return [(port, sse_request(port, "/sse/")) for _ in range(n)]
    from monitio.stream import current_epoch
    from monitio.wire import mint_token

    now, epoch = time.time(), current_epoch()
    specs = []
    for i in range(n):
        cookie = "monitio_stream=" + mint_token(
            f"{i}", "s", secret=harness.SECRET, epoch=epoch, now=now
        )
        request = sse_request(port, "/sse/", cookie)
        if last_ids:
            request = request[:-2] + f"Last-Event-ID: {last_ids[i]}\r\n\r\n".encode()
        specs.append((port, request))
    return specs


def _last_ids(n: int) -> list[str]:
    """One event for each user, and the id each user's browser would send back."""
    from monitio.publish import current_event_id

    users = [str(i) for i in range(n)]
    publishers.broadcast(users, 0)
    return [current_event_id(u) for u in users]


def storm(
    kind: str, n: int, redis_url: str, processes: int, profile: bool = False
) -> dict[str, Any]:
    """One storm of ``n`` streams; with ``profile``, py-spy records the new worker
    during it (``results/profile-<kind>-reconnect-<n>.txt``)."""
    first = _start(kind, redis_url, None)
    port = first.port
    with LoadClient(processes) as before:
        opened, _ = before.connect(_specs(kind, port, n, []), parallel=200)
        last_ids = _last_ids(n) if kind == "gateway" else []
        specs = _specs(kind, port, n, last_ids)  # tokens minted before, not during
        with LoadClient(processes) as after:
            stopped = time.monotonic()
            first.stop()
            second = _start(kind, redis_url, port)
            pid = second.worker().pid
            ready = time.monotonic()
            profiler = start_profile(pid, kind, n, "reconnect") if profile else None
            ticks = cpu_ticks(pid)
            ok, failed = after.connect(specs, parallel=n)
            done = time.monotonic()
            spent = (cpu_ticks(pid) - ticks) / _TICK
            if profiler is not None:
                stop_profile(profiler)
    second.stop()
    return {
        "n": n,
        "open_before": opened,
        "reopened": ok,
        "failed": failed,
        "restart_s": round(ready - stopped, 2),
        "storm_s": round(done - ready, 2),
        "all_streaming_after_stop_s": round(done - stopped, 2),
        "worker_cpu_s": round(spent, 3),
        "cpu_us_per_connect": round(1e6 * spent / max(ok, 1), 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 streams")
    parser.add_argument("--streams", type=int, help="streams (default 10,000)")
    parser.add_argument(
        "--targets",
        nargs="+",
        default=["gateway", "nchan"],
        choices=["gateway", "nchan", "floor"],
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then one more gateway storm, recorded with py-spy (figures not kept)",
    )
    args = parser.parse_args(argv)
    n = args.streams or (1000 if args.quick else 10_000)
    from bench import env as bench_env

    results: dict[str, Any] = {}
    with bench_env.environment() as env:
        for kind in args.targets:
            print(f"== {kind}: {n:,} streams reconnect at once", flush=True)
            results[kind] = storm(kind, n, env.redis_url, processes=2)
            print(results[kind], flush=True)
            env.flush_events()
        if args.profile:
            storm("gateway", n, env.redis_url, processes=2, profile=True)
    ours, ref = results.get("gateway", {}), results.get("nchan", {})
    floor = results.get("floor")
    rows = []
    for name in (
        "reopened",
        "failed",
        "restart_s",
        "storm_s",
        "all_streaming_after_stop_s",
        "worker_cpu_s",
        "cpu_us_per_connect",
    ):
        a, b = ours.get(name), ref.get(name)
        row = [name, a, b, report.ratio(a, b)]
        if floor is not None:
            row += [floor.get(name), report.ratio(floor.get(name), b)]
        rows.append(row)
    report.table(
        f"Reconnect storm: {n:,} streams reconnect at once after a restart",
        ["figure", "gateway", "nchan", "ratio"]
        + (["floor (no application)", "floor / nchan"] if floor is not None else []),
        rows,
    )
    report.write("reconnect", results)


if __name__ == "__main__":
    main()
