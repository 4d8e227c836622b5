"""Run every benchmark, each in a fresh process, then write ``bench/results/summary.md``
and ``BENCHMARKS.md``: ``python -m bench.run_all [--quick] [--only NAME ...]``.

A benchmark that fails (or writes no result) fails the run: it exits non-zero naming
it, and BENCHMARKS.md is left as it was. Figures this run did not produce are marked
with their date in the summaries (see :mod:`bench.freshness`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import freshness, report

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ["gateway", "request_cost", "e2e", "pipeline", "grouping", "reconnect", "digest"]


def _load(name: str) -> dict[str, Any] | None:
    path = report.RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _at(rows: list[dict[str, Any]], n: int) -> dict[str, Any]:
    return next((r for r in rows if r.get("n") == n), {})


def _verdict(ok: bool | None) -> str:
    return "?" if ok is None else ("met" if ok else "**missed**")


def _mark(rows: list[list[Any]], start: int, name: str, notes: dict[str, str]) -> None:
    """Label ``rows[start:]``, the figures from ``<name>.json``, when it is not this
    run's."""
    if name in notes:
        for row in rows[start:]:
            row[0] = f"{row[0]} (**{notes[name]}**)"


def targets(notes: dict[str, str] | None = None) -> list[list[Any]]:
    """Rows: figure, ours, nchan, ratio, target, verdict. ``notes``: the result files
    that are not this run's, and why (:func:`bench.freshness.stale_notes`)."""
    notes = notes or {}
    rows: list[list[Any]] = []
    conn, bcast, thr = _load("connections"), _load("broadcast"), _load("throughput")
    if conn:
        n = max(r["n"] for r in conn["gateway"])
        a, b = _at(conn["gateway"], n), _at(conn["nchan"], n)
        r = report.ratio(a.get("mb_per_1k"), b.get("mb_per_1k"))
        rows.append(
            [
                f"memory per 1k idle connections (at {n:,}), MB",
                a.get("mb_per_1k"),
                b.get("mb_per_1k"),
                r,
                "≤ 0.2 × nchan",
                _verdict(r and r <= 0.2),
            ]
        )
        rows.append(
            [
                f"connections held by one process (of {n:,})",
                a.get("open"),
                b.get("open"),
                report.ratio(a.get("open"), b.get("open")),
                "10,000",
                _verdict(a.get("open", 0) >= 10_000 if n >= 10_000 else None),
            ]
        )
        cap = conn.get("capacity")
        if cap:
            label = (
                f"streams one gateway process holds, open-file limit "
                f"{cap['open_files_limit']:,} (+{cap['opened'] - cap['cap']} "
                f"more refused 503: {cap['refused_by_gateway']})"
            )
            rows.append(
                [
                    label,
                    cap["open"],
                    "-",
                    "",
                    "≥ 10,000, limited by file descriptors",
                    _verdict(
                        cap["open"] == cap["cap"] >= 10_000
                        and cap["refused_by_gateway"] == cap["opened"] - cap["cap"]
                    ),
                ]
            )
        rows.append(
            [
                f"idle CPU at {n:,} connections, heartbeats on, %",
                a.get("idle_cpu_pct"),
                b.get("idle_cpu_pct"),
                report.ratio(a.get("idle_cpu_pct"), b.get("idle_cpu_pct")),
                "-",
                "",
            ]
        )
    _mark(rows, 0, "connections", notes)
    start = len(rows)
    if bcast:
        for n in sorted({r["n"] for r in bcast["gateway"]}, reverse=True):
            a = _at(bcast["gateway"], n).get("all_received_ms", {})
            b = _at(bcast["nchan"], n).get("all_received_ms", {})
            r = report.ratio(a.get("p99"), b.get("p99"))
            rows.append(
                [
                    f"broadcast to {n:,} users, all received p99, ms",
                    a.get("p99"),
                    b.get("p99"),
                    r,
                    "≤ 1.0 × nchan",
                    _verdict(r and r <= 1.0),
                ]
            )
    _mark(rows, start, "broadcast", notes)
    start = len(rows)
    if thr:
        for n in sorted({r["n"] for r in thr["gateway"]}, reverse=True):
            a, b = _at(thr["gateway"], n), _at(thr["nchan"], n)
            r = report.ratio(a.get("events_per_s"), b.get("events_per_s"))
            rows.append(
                [
                    f"events/s, one subscriber each, {n:,} users",
                    a.get("events_per_s"),
                    b.get("events_per_s"),
                    r,
                    "≥ 0.8 × nchan",
                    _verdict(r and r >= 0.8),
                ]
            )
    _mark(rows, start, "throughput", notes)
    rows += _pipeline_targets(notes)
    start = len(rows)
    storm = _load("reconnect")
    if storm and "gateway" in storm and "nchan" in storm:
        a, b = storm["gateway"], storm["nchan"]
        r = report.ratio(a["cpu_us_per_connect"], b["cpu_us_per_connect"])
        rows.append(
            [
                f"reconnect storm of {a['n']:,}: server CPU per stream opened, µs",
                a["cpu_us_per_connect"],
                b["cpu_us_per_connect"],
                r,
                "≤ 3 × nchan",
                _verdict(r is not None and r <= 3),
            ]
        )
    _mark(rows, start, "reconnect", notes)
    rows += _digest_targets(notes)
    return rows


def _digest_targets(notes: dict[str, str]) -> list[list[Any]]:
    digest = _load("digest")
    if not digest:
        return []
    once = digest["emails"] == digest["users"] and digest["duplicates"] == 0
    rows = [[
        f"digest run, {digest['users']:,} users × {digest['messages_per_user']} messages, s "
        f"({digest['emails']:,} e-mails, {digest['duplicates']} duplicates)",
        digest["seconds"], "", "", "≤ 60 s, each e-mail once",
        _verdict(digest["seconds"] <= 60 and once if digest["users"] >= 10_000 else None),
    ]]
    _mark(rows, 0, "digest", notes)
    return rows


def _preferences_targets(broker: str, prefs: dict[str, Any] | None) -> list[list[Any]]:
    """The preferences' cost in the pipeline: messages/s of a kind users may switch off
    vs without a kind (``bench_pipeline``), the median run per messages per task; a row
    saying so when the result predates that figure."""
    if prefs is None:
        figure = (f"preferences cost in the pipeline, {broker} broker: not measured "
                  "(pipeline.json predates it)")
        return [[figure, None, None, None, "≤ 10 %", _verdict(None)]]
    rows = []
    for per_task in (1, 10):
        runs = [c for c in prefs["cost"] if c["messages_per_task"] == per_task]
        cost = statistics.median(c["cost"] for c in runs)
        rows.append([
            f"preferences cost in the pipeline, {per_task} per task, {broker} broker: "
            f"{100 * cost:.1f} % of messages/s (with a kind / without, median of "
            f"{len(runs)} run(s))",
            statistics.median(c["with_per_s"] for c in runs),
            statistics.median(c["without_per_s"] for c in runs),
            round(1 - cost, 2),
            "≤ 10 %",
            _verdict(cost <= 0.10),
        ])
    return rows


def _pipeline_targets(notes: dict[str, str]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    e2e, cost, pipe = _load("e2e"), _load("request_cost"), _load("pipeline")
    if e2e:
        for rate in (100, 500):
            runs = [r for r in e2e["runs"] if r["rate"] == rate]
            p99s = [r["add_message_to_client_ms"]["p99"] for r in runs]
            worst = max((p for p in p99s if p is not None), default=None)
            target = "≤ 15 ms" if rate == 100 else "-"
            rows.append(
                [
                    f"add_message → client p99 at {rate} msg/s, ms (worst run)",
                    worst,
                    "",
                    "",
                    target,
                    _verdict(worst is not None and worst <= 15) if rate == 100 else "",
                ]
            )
    _mark(rows, 0, "e2e", notes)
    start = len(rows)
    if cost:
        databases = cost.get("databases") or {"sqlite": {"variants": cost["variants"]}}
        for db, data in databases.items():
            v = data["variants"]
            for k in (1, 10):
                ours = v[f"monitio-{k}"]["us"]["p50"]
                stock = v[f"django-session-{k}"]["us"]["p50"]
                sync = v[f"sync-insert-{k}"]["us"]["p50"]
                r = report.ratio(ours, stock)
                rows.append(
                    [
                        f"request cost on {db}, {k} message(s), p50 µs "
                        "(vs contrib.messages, session storage)",
                        ours,
                        stock,
                        r,
                        "≤ 1.0 × contrib.messages" if k == 1 else "-",
                        _verdict(r is not None and r <= 1.0) if k == 1 else "",
                    ]
                )
                rows.append(
                    [
                        f"… the same vs a synchronous insert of {k} row(s), p50 µs",
                        ours,
                        sync,
                        report.ratio(ours, sync),
                        "-",
                        "",
                    ]
                )
                calls = v[f"monitio-{k}"].get("calls_us", {}).get("p50")
                if calls is not None:  # the rest is the middleware's send and cookie
                    rows.append(
                        [
                            "… of which in the view's add_message calls, p50 µs",
                            calls,
                            sync,
                            report.ratio(calls, sync),
                            "-",
                            "",
                        ]
                    )
            if "redis-round-trip" in v:  # the floor: one broker round trip
                ping = v["redis-round-trip"]["us"]["p50"]
                sync = v["sync-insert-1"]["us"]["p50"]
                rows.append(
                    [
                        f"one Redis round trip on {db} runs (PING), p50 µs (vs sync insert)",
                        ping,
                        sync,
                        report.ratio(ping, sync),
                        "-",
                        "",
                    ]
                )
        cmds = max(
            data["variants"][f"monitio-{k}"]["redis_commands_per_request"]
            for data in databases.values()
            for k in (1, 10)
        )
        rows.append(
            [
                "broker commands per request (1 or 10 messages)",
                cmds,
                "",
                "",
                "≤ 1 round trip",
                _verdict(cmds <= 1.05),
            ]
        )
    _mark(rows, start, "request_cost", notes)
    start = len(rows)
    if pipe:
        brokers = pipe.get("brokers") or {"redis": pipe}
        for broker, data in brokers.items():
            trivial = max((t["tasks_per_s"] for t in data["trivial_task"]), default=None)
            for per_task in (1, 10):
                runs = [r for r in data["rate"] if r.get("messages_per_task", 1) == per_task]
                best = max(r["messages_per_s"] for r in runs)
                # Each run against the trivial task of the same run; the median of them.
                trivial_of_run = {i + 1: t["tasks_per_s"] for i, t in enumerate(data["trivial_task"])}
                ratios = [
                    r["messages_per_s"] / trivial_of_run[r["run"]]
                    for r in runs
                    if trivial_of_run.get(r.get("run"))
                ]
                median = round(statistics.median(ratios), 2) if ratios else None
                figure = (
                    f"pipeline messages/s persisted + published, {per_task} per task, "
                    f"{broker} broker (best run; ratio: median over runs of each vs the "
                    "same run's trivial task)"
                )
                rows.append(
                    [
                        figure,
                        best,
                        trivial,
                        median,
                        "≥ 1.2 × a trivial task (accelerators on)" if per_task == 1 else "-",
                        _verdict(median is not None and median >= 1.2) if per_task == 1 else "",
                    ]
                )
        for broker, data in brokers.items():
            rows += _preferences_targets(broker, data.get("preferences"))
        alls = [f["all_received_s"] for f in pipe["fanout"]]
        worst = None if None in alls else max(alls)
        rows.append(
            [
                (
                    f"one message to {pipe['fanout'][0]['users']:,} users: all told, s "
                    "(worst run)"
                ),
                worst,
                "",
                "",
                "≤ 2 s",
                _verdict(worst is not None and worst <= 2),
            ]
        )
        rows_s = [f["rows_s"] for f in pipe["fanout"]]
        rows.append(
            [
                "… all rows exist, s (worst run)",
                None if None in rows_s else max(rows_s),
                "",
                "",
                "-",
                "",
            ]
        )
    _mark(rows, start, "pipeline", notes)
    start = len(rows)
    grouping = _load("grouping")
    if grouping:
        v = grouping["variants"]["grouped"]
        updates = v["sql_per_delivery"].get("UPDATE", 0)
        publishes = v["redis_commands_per_delivery"].get("evalsha", 0)
        rows.append(
            [
                "a grouped update: SQL UPDATEs / publishes (script calls) per message",
                f"{updates:g} / {publishes:g}",
                "",
                "",
                "1 UPDATE and 1 publish",
                _verdict(updates == 1 and publishes == 1 and len(v["sql_per_delivery"]) == 1),
            ]
        )
    _mark(rows, start, "grouping", notes)
    return rows


def write_summaries(quick: bool, notes: dict[str, str] | None = None) -> str:
    """Write ``summary.md``: this run's date and machine, the targets table and each
    benchmark's tables; figures not from this run are marked (``notes``)."""
    notes = notes or {}
    machine = report.machine()
    header = ["figure", "monitio", "nchan / reference", "ratio", "target", "verdict"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in targets(notes):
        lines.append(
            "| "
            + " | ".join(
                "-"
                if v is None
                else (
                    f"{v:,.2f}"
                    if isinstance(v, float)
                    else f"{v:,}"
                    if isinstance(v, int)
                    else str(v)
                )
                for v in row
            )
            + " |"
        )
    table = "\n".join(lines)
    when = time.strftime(freshness.DATE_FORMAT, time.gmtime())
    machine_line = (
        f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB, "
        f"Linux {machine['kernel']}, Python {machine['python']}"
    )
    stale = (
        "**Not this run's figures** (marked in the table):\n\n"
        + "".join(f"* `{name}.json`: {note}\n" for name, note in notes.items())
        + "\n"
        if notes
        else ""
    )
    details = "\n".join(
        _detail(name, notes)
        for name in BENCHMARKS
        if (report.RESULTS / f"{name}.md").exists()
    )
    summary = (
        f"# Benchmark summary{' (quick run)' if quick else ''}\n\n"
        f"Date: {when}. Machine: {machine_line}.\n\n{stale}{table}\n\n{details}"
    )
    (report.RESULTS / "summary.md").write_text(summary)
    return summary


def _detail(benchmark: str, notes: dict[str, str]) -> str:
    """``<benchmark>.md`` (its tables), headed by why they are not this run's, if so."""
    text = (report.RESULTS / f"{benchmark}.md").read_text()
    why = sorted({notes[n] for n in freshness.RESULT_FILES[benchmark] if n in notes})
    if why:
        text = f"**Not this run's figures ({benchmark}): {'; '.join(why)}.**\n\n{text}"
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run (~1 minute), into bench/results/quick/",
    )
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, default=BENCHMARKS)
    args = parser.parse_args(argv)
    if args.quick:  # keep the committed figures of the last full run
        report.RESULTS = report.RESULTS / "quick"
        os.environ["BENCH_RESULTS"] = str(report.RESULTS)
    report.RESULTS.mkdir(parents=True, exist_ok=True)
    started, began = time.monotonic(), time.time()
    failed: dict[str, str] = {}
    for name in args.only:
        extra = ["--quick"] if args.quick else []
        if name == "gateway" and not args.quick:
            extra.append("--profile")
        print(f"\n==== {name}", flush=True)
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", f"bench.bench_{name}", *extra],
            check=False,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        sys.stdout.write(proc.stdout)
        tables = (
            proc.stdout[proc.stdout.find("### ") :] if "### " in proc.stdout else ""
        )
        (report.RESULTS / f"{name}.md").write_text(tables)
        unwritten = [
            f"{n}.json"
            for n in freshness.RESULT_FILES[name]
            if not freshness.is_current(report.RESULTS / f"{n}.json", began)
        ]
        if proc.returncode:
            failed[name] = f"exit {proc.returncode}"
        elif unwritten:
            failed[name] = f"exit 0 but did not write {', '.join(unwritten)}"
        status = f"FAILED ({failed[name]})" if name in failed else "ok"
        print(f"==== {name}: {status} in {time.monotonic() - t0:.0f} s", flush=True)
    notes = freshness.stale_notes(report.RESULTS, began, set(args.only), set(failed))
    summary = write_summaries(args.quick, notes)
    if not args.quick and failed:
        print("BENCHMARKS.md not written: a benchmark failed (it would not be current)")
    elif not args.quick:
        from bench import benchmarks_md

        print(f"wrote {benchmarks_md.write(summary)}")
    print(
        f"\nAll done in {time.monotonic() - started:.0f} s; "
        f"results in {report.RESULTS}/"
    )
    if failed:
        sys.exit(
            "FAILED: "
            + "; ".join(f"{name} ({why})" for name, why in failed.items())
            + " (its output is above, under '==== NAME')"
        )


if __name__ == "__main__":
    main()
