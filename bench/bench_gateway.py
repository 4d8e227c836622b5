"""Benchmarks 1-3: connections, broadcast fan-out and throughput, for the gateway and
for nginx+nchan under the same load, in one pass per server.

Per server: open N subscribers (N = 1k, 5k, 10k; each a distinct user with its own
stream token, or for nchan its own channel ``u<i>``), record the server worker's RSS
at each step, its idle CPU with heartbeats at the largest N, then at 1k and 10k:

* broadcast: one event to all N users (gateway: ``publish_many`` of N per-user
  events, the worker's path; nchan: N pipelined POSTs, one per channel), >= 20 times;
  the figure is the time from the publish call until the last of the N arrived;
* throughput: ``rounds`` events per user published as fast as Redis/nginx accept
  them (gateway: the publish Lua script flooded over one pipelined connection;
  nchan: pipelined POSTs), delivered events per second at the clients; the median
  of three floods.

Then, for the gateway alone, its capacity: ``MONITIO_MAX_CONNECTIONS`` far above the
open-file limit, so the cap is what the descriptors allow (``sse_gateway.fdlimit``);
that many streams and :data:`CAPACITY_EXTRA` more are opened, and the extra ones must
be refused with 503, not left hanging.

Writes ``connections.json`` (with ``"capacity"``), ``broadcast.json`` and
``throughput.json``.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from typing import Any

from bench import harness, publishers, report
from bench.loadclient import LoadClient, sse_request

#: Floods per throughput figure; the figure is their median.
THROUGHPUT_REPEATS = 3
#: Streams opened past the gateway's capacity.
CAPACITY_EXTRA = 200
#: ``MONITIO_MAX_CONNECTIONS`` of the capacity run: far above any open-file limit.
CAPACITY_SETTING = 10**6


def _gateway_specs(port: int, first: int, last: int) -> list[tuple[int, bytes]]:
    from monitio.stream import current_epoch
    from monitio.wire import mint_token

    now, epoch = time.time(), current_epoch()
    return [
        (
            port,
            sse_request(
                port,
                "/sse/",
                "monitio_stream="
                + mint_token(f"{i}", "s", secret=harness.SECRET, epoch=epoch, now=now),
            ),
        )
        for i in range(first, last)
    ]


def _nchan_specs(port: int, first: int, last: int) -> list[tuple[int, bytes]]:
    return [(port, sse_request(port, f"/sub/u{i}")) for i in range(first, last)]


class Target:
    """One server under test and how to publish to its users."""

    def __init__(self, kind: str, redis_url: str, heartbeat: float) -> None:
        self.kind = kind
        self.redis_url = redis_url
        if kind == "gateway":
            self.service = harness.gateway(redis_url, heartbeat=heartbeat)
        else:
            self.service = harness.nchan(heartbeat=int(heartbeat))
        self.worker = self.service.worker()

    def specs(self, first: int, last: int) -> list[tuple[int, bytes]]:
        make = _gateway_specs if self.kind == "gateway" else _nchan_specs
        return make(self.service.port, first, last)

    def broadcast(self, n: int, seq: int) -> None:
        if self.kind == "gateway":
            publishers.broadcast([str(i) for i in range(n)], seq)
        else:
            body = b'{"s":%d}' % seq
            publishers.nchan_publish(
                self.service.port, [(f"u{i}", body) for i in range(n)]
            )

    def flood(self, events: list[tuple[int, int]]) -> None:
        if self.kind == "gateway":
            publishers.flood(f"{self.redis_url}/0", [(str(u), s) for u, s in events])
        else:
            publishers.nchan_publish(
                self.service.port, [(f"u{u}", b'{"s":%d}' % s) for u, s in events]
            )


def run_target(kind: str, args: argparse.Namespace, redis_url: str) -> dict[str, Any]:
    target = Target(kind, redis_url, args.heartbeat)
    out: dict[str, Any] = {"connections": [], "broadcast": [], "throughput": []}
    seq = 0
    try:
        with LoadClient(args.client_processes) as client:
            time.sleep(0.5)
            base_rss = harness.rss_mb(target.worker)
            opened = 0
            for n in args.sizes:
                t0 = time.monotonic()
                ok, failed = client.connect(
                    target.specs(opened, n), parallel=args.parallel
                )
                opened = n
                time.sleep(1.0)
                rss = harness.rss_mb(target.worker)
                row = {
                    "n": n,
                    "open": ok,
                    "failed": failed,
                    "connect_s": round(time.monotonic() - t0, 2),
                    "rss_mb": round(rss, 1),
                    "base_rss_mb": round(base_rss, 1),
                    "mb_per_1k": round((rss - base_rss) / n * 1000, 2),
                }
                if n == args.sizes[-1]:
                    row.update(_idle_cpu(target, client, args.idle_seconds))
                out["connections"].append(row)
                print(f"  {kind}: {row}", flush=True)
                if n in args.fanout_sizes:
                    seq = _broadcast(target, client, n, args, seq, out)
                    if args.profile and kind == "gateway" and n == args.sizes[-1]:
                        # Profiled apart from the measured series: py-spy costs too.
                        profiler = start_profile(target.worker.pid, kind, n)
                        seq = _broadcast(
                            target, client, n, args, seq, {"broadcast": []}
                        )
                        stop_profile(profiler)
                    seq = _throughput(target, client, n, args, seq, out)
    finally:
        target.service.stop()
    return out


def capacity(redis_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Open the gateway's capacity in streams, then :data:`CAPACITY_EXTRA` more."""
    import psutil

    service = harness.gateway(
        redis_url, heartbeat=args.heartbeat, max_connections=CAPACITY_SETTING
    )
    try:
        worker = service.worker()
        cap = int(harness.gateway_metric(service.port, "max_connections"))
        wanted = cap + CAPACITY_EXTRA
        with LoadClient(args.client_processes) as client:
            t0 = time.monotonic()
            ok, failed = client.connect(
                _gateway_specs(service.port, 0, wanted), parallel=args.parallel
            )
            row = {
                "open_files_limit": worker.rlimit(psutil.RLIMIT_NOFILE)[0],
                "max_connections_setting": CAPACITY_SETTING,
                "cap": cap,
                "opened": wanted,
                "open": ok,
                "failed": failed,
                "refused_by_gateway": int(
                    harness.gateway_metric(service.port, "limit_rejected_total")
                ),
                "connect_s": round(time.monotonic() - t0, 2),
                "rss_mb": round(harness.rss_mb(worker), 1),
            }
    finally:
        service.stop()
    print(f"  gateway capacity: {row}", flush=True)
    return row


def _idle_cpu(target: Target, client: LoadClient, seconds: float) -> dict[str, Any]:
    client.collect()
    cpu0, t0 = harness.cpu_seconds(target.worker), time.monotonic()
    time.sleep(seconds)
    cpu = harness.cpu_seconds(target.worker) - cpu0
    elapsed = time.monotonic() - t0
    arrivals = client.collect()
    return {
        "idle_cpu_pct": round(100 * cpu / elapsed, 2),
        "idle_window_s": round(elapsed, 1),
        "client_cpu_pct_idle": round(100 * arrivals.client_cpu / elapsed, 2),
    }


def _broadcast(
    target: Target, client: LoadClient, n: int, args, seq: int, out: dict[str, Any]
) -> int:
    client.collect()
    totals, publish_times = [], []
    cpu0 = harness.cpu_seconds(target.worker)
    wall0 = time.monotonic()
    client_cpu = 0.0
    missing = 0
    for _ in range(args.events):
        seq += 1
        t0 = time.time()
        target.broadcast(n, seq)
        publish_times.append(time.time() - t0)
        arrivals = client.wait_for({seq: n}, timeout=10)
        client_cpu += arrivals.client_cpu
        count, _first, last = arrivals.events.get(seq, (0, t0, t0))
        missing += n - int(count)
        if count >= n:
            totals.append(last - t0)
        time.sleep(0.05)
    wall = time.monotonic() - wall0
    server_cpu = harness.cpu_seconds(target.worker) - cpu0
    row = {
        "n": n,
        "events": args.events,
        "complete": len(totals),
        "missing": missing,
        "all_received_ms": {
            k: report.ms(v) if k != "n" else v for k, v in report.spread(totals).items()
        },
        "publish_call_ms_p50": report.ms(report.pct(publish_times, 50)),
        "server_cpu_pct": round(100 * server_cpu / wall, 1),
        "client_cpu_pct": round(100 * client_cpu / wall, 1),
    }
    out["broadcast"].append(row)
    print(f"  {target.kind} broadcast: {row}", flush=True)
    return seq


def _throughput(
    target: Target, client: LoadClient, n: int, args, seq: int, out: dict[str, Any]
) -> int:
    """Flood ``THROUGHPUT_REPEATS`` times; the row is the median flood, with every
    flood's rate beside it (one flood moves by ±15 % on a shared 2-core machine)."""
    floods = []
    for _ in range(THROUGHPUT_REPEATS):
        seq, flood = _flood(target, client, n, args, seq)
        floods.append(flood)
    floods.sort(key=lambda f: f["events_per_s"])
    row = {**floods[len(floods) // 2], "floods": [f["events_per_s"] for f in floods]}
    out["throughput"].append(row)
    print(f"  {target.kind} throughput: {row}", flush=True)
    return seq


def _flood(
    target: Target, client: LoadClient, n: int, args, seq: int
) -> tuple[int, dict[str, Any]]:
    rounds = max(1, args.throughput_events // n)
    events = []
    for _ in range(rounds):
        for user in range(n):
            seq += 1
            events.append((user, seq))
    first_seq = events[0][1]
    client.collect()
    cpu0 = harness.cpu_seconds(target.worker)
    t0 = time.time()
    target.flood(events)
    publish_s = time.time() - t0
    arrivals = client.wait_for({events[-1][1]: 1}, timeout=60)
    time.sleep(0.3)
    late = client.collect()
    arrivals.merge(late.events)
    arrivals.client_cpu += late.client_cpu
    ours = [v for s, v in arrivals.events.items() if s >= first_seq]
    delivered = int(sum(v[0] for v in ours))
    last = max((v[2] for v in ours), default=t0)
    elapsed = max(last - t0, 1e-9)
    row = {
        "n": n,
        "published": len(events),
        "delivered": delivered,
        "seconds": round(elapsed, 3),
        "publish_s": round(publish_s, 3),
        "events_per_s": round(delivered / elapsed),
        "server_cpu_pct": round(
            100 * (harness.cpu_seconds(target.worker) - cpu0) / elapsed, 1
        ),
        "client_cpu_pct": round(100 * arrivals.client_cpu / elapsed, 1),
    }
    return seq, row


def start_profile(
    pid: int, kind: str, n: int, what: str = "broadcast"
) -> subprocess.Popen:
    """py-spy on ``pid`` until :func:`stop_profile`, into ``results/profile-*.txt``."""
    report.RESULTS.mkdir(parents=True, exist_ok=True)
    path = report.RESULTS / f"profile-{kind}-{what}-{n}.txt"
    return subprocess.Popen(
        [
            str(harness.VENV_BIN / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--output",
            str(path),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profile(proc: subprocess.Popen) -> None:
    import signal

    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def summarize(results: dict[str, dict[str, Any]], cap: dict[str, Any] | None) -> None:
    """Print and write the three result files from both servers' runs."""
    ours, ref = results["gateway"], results["nchan"]

    def pair(rows_a, rows_b, n):
        a = next((r for r in rows_a if r["n"] == n), None)
        b = next((r for r in rows_b if r["n"] == n), None)
        return a, b

    rows = []
    for a in ours["connections"]:
        _, b = pair([], ref["connections"], a["n"])
        b = b or {}
        rows.append(
            [
                a["n"],
                a["open"],
                b.get("open"),
                a["mb_per_1k"],
                b.get("mb_per_1k"),
                report.ratio(a["mb_per_1k"], b.get("mb_per_1k")),
                a.get("idle_cpu_pct"),
                b.get("idle_cpu_pct"),
            ]
        )
    report.table(
        "Idle connections (one server process)",
        [
            "N",
            "gateway open",
            "nchan open",
            "gateway MB/1k",
            "nchan MB/1k",
            "ratio",
            "gateway idle CPU %",
            "nchan idle CPU %",
        ],
        rows,
    )
    if cap:
        report.table(
            "Gateway capacity: the cap fitted to the open-file limit",
            ["open files", "cap", "opened", "open", "refused 503", "connect s", "RSS MB"],
            [[cap["open_files_limit"], cap["cap"], cap["opened"], cap["open"],
              cap["refused_by_gateway"], cap["connect_s"], cap["rss_mb"]]],
        )
    report.write(
        "connections",
        {"gateway": ours["connections"], "nchan": ref["connections"], "capacity": cap},
    )
    rows = []
    for a in ours["broadcast"]:
        _, b = pair([], ref["broadcast"], a["n"])
        b = b or {"all_received_ms": {}}
        ga, nb = a["all_received_ms"], b["all_received_ms"]
        rows.append(
            [
                a["n"],
                ga["p50"],
                ga["p99"],
                nb.get("p50"),
                nb.get("p99"),
                report.ratio(ga["p99"], nb.get("p99")),
                a["client_cpu_pct"],
                b.get("client_cpu_pct"),
            ]
        )
    report.table(
        "Broadcast: one event to N users, time until all N have it (ms)",
        [
            "N",
            "gateway p50",
            "gateway p99",
            "nchan p50",
            "nchan p99",
            "p99 ratio",
            "client CPU % (gw)",
            "client CPU % (nchan)",
        ],
        rows,
    )
    report.write("broadcast", {"gateway": ours["broadcast"], "nchan": ref["broadcast"]})
    rows = []
    for a in ours["throughput"]:
        _, b = pair([], ref["throughput"], a["n"])
        b = b or {}
        rows.append(
            [
                a["n"],
                a["events_per_s"],
                b.get("events_per_s"),
                report.ratio(a["events_per_s"], b.get("events_per_s")),
                a["client_cpu_pct"],
                b.get("client_cpu_pct"),
            ]
        )
    report.table(
        "Throughput: events delivered per second, one subscriber per user",
        [
            "N",
            "gateway ev/s",
            "nchan ev/s",
            "ratio",
            "client CPU % (gw)",
            "client CPU % (nchan)",
        ],
        rows,
    )
    report.write(
        "throughput", {"gateway": ours["throughput"], "nchan": ref["throughput"]}
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="record a py-spy profile of the gateway during the largest broadcast",
    )
    parser.add_argument(
        "--targets",
        nargs="+",
        default=["gateway", "nchan"],
        choices=["gateway", "nchan"],
    )
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=int,
        help="connection counts (default 1000 5000 10000)",
    )
    args = parser.parse_args(argv)
    sizes = args.sizes
    if args.quick:
        args.sizes, args.fanout_sizes, args.events = [200, 1000], [1000], 20
        args.heartbeat, args.idle_seconds, args.throughput_events = 5.0, 5.0, 10_000
    else:
        args.sizes, args.fanout_sizes, args.events = (
            [1000, 5000, 10000],
            [1000, 10000],
            25,
        )
        args.heartbeat, args.idle_seconds, args.throughput_events = 15.0, 15.0, 50_000
    if sizes:
        args.sizes = sorted(sizes)
        args.fanout_sizes = [n for n in args.sizes if n in (1000, 10000)] or args.sizes[
            -1:
        ]
    args.client_processes, args.parallel = 2, 200
    from bench import env as bench_env

    with bench_env.environment() as env:
        results = {}
        for kind in args.targets:
            print(f"== {kind}", flush=True)
            results[kind] = run_target(kind, args, env.redis_url)
            env.flush_events()
        cap = None
        if "gateway" in args.targets and not args.quick:
            cap = capacity(env.redis_url, args)
            env.flush_events()
    if set(results) == {"gateway", "nchan"}:
        summarize(results, cap)


if __name__ == "__main__":
    main()
