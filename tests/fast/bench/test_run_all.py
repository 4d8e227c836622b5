"""The benchmark runner is honest: a failed benchmark fails the run and says which,
and figures a run did not produce are never presented as current. Nothing here
measures anything: the failure is forced, the figures are the committed ones."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from bench import freshness, report, run_all
from tests.fast.bench.runner import run_module

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "bench" / "results"


def _dates() -> dict[str, str]:
    return {
        name: json.loads((COMMITTED / f"{name}.json").read_text())["date"]
        for names in freshness.RESULT_FILES.values()
        for name in names
        if (COMMITTED / f"{name}.json").exists()  # a benchmark not run yet has none
    }


@pytest.fixture
def results(tmp_path) -> Path:
    """A results directory holding the last full run's files, as on a checkout."""
    target = tmp_path / "results"
    target.mkdir()
    for path in [*COMMITTED.glob("*.json"), *COMMITTED.glob("*.md")]:
        shutil.copy(path, target)
    return target


def _rows(summary: str, label: str) -> list[str]:
    return [line for line in summary.splitlines() if line.startswith(f"| {label}")]


def test_a_failed_benchmark_fails_the_run_and_its_old_figures_are_not_shown_as_current(
    tmp_path, results
):
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("the previous run's document\n")
    (tmp_path / "run").mkdir()
    env = {
        **os.environ,
        "BENCH_RESULTS": str(results),
        "BENCH_RUN": str(tmp_path / "run"),
        "BENCHMARKS_MD": str(markdown),
        "PYTHONPATH": str(ROOT),
        # The forced failure: the benchmark's Django project cannot start.
        "DJANGO_SETTINGS_MODULE": "bench.no_such_settings",
    }
    proc = run_module("bench.run_all", "--only", "request_cost", env=env)
    assert proc.returncode != 0
    assert (
        proc.stderr.strip().splitlines()[-1].startswith("FAILED: request_cost (exit 1)")
    ), proc.stderr[-2000:]
    assert "==== request_cost: FAILED (exit 1)" in proc.stdout
    assert "BENCHMARKS.md not written" in proc.stdout
    assert markdown.read_text() == "the previous run's document\n"

    summary = (results / "summary.md").read_text()
    dates = _dates()
    cost_rows = _rows(summary, "request cost on")
    assert cost_rows
    failed = f"request_cost FAILED in this run; figures of {dates['request_cost']}"
    assert all(failed in row for row in cost_rows), cost_rows
    # The benchmarks this run did not run are marked with their own date.
    broadcast_rows = _rows(summary, "broadcast to")
    assert broadcast_rows
    stale = f"stale: from {dates['broadcast']}, not this run"
    assert all(stale in row for row in broadcast_rows), broadcast_rows
    assert "not this run" in summary.split("\n| figure |")[0]  # said above the table


def test_only_the_figures_a_run_produced_are_unmarked(results, monkeypatch):
    """``--only gateway``: the gateway's figures are current, the others carry their
    date, in the table and above each benchmark's own tables."""
    began = time.time()
    for name in freshness.RESULT_FILES["gateway"]:
        path = results / f"{name}.json"
        data = json.loads(path.read_text())
        data["date"] = time.strftime(freshness.DATE_FORMAT, time.gmtime())
        path.write_text(json.dumps(data))
    notes = freshness.stale_notes(results, began, ran={"gateway"}, failed=set())
    assert set(notes) == {"request_cost", "e2e", "pipeline", "grouping", "digest", "reconnect"}
    monkeypatch.setattr(report, "RESULTS", results)
    summary = run_all.write_summaries(quick=False, notes=notes)

    dates = _dates()
    for label in ("broadcast to", "events/s", "memory per 1k"):
        rows = _rows(summary, label)
        assert rows and not any("not this run" in row for row in rows), rows
    for label, name in [
        ("request cost on", "request_cost"),
        ("add_message → client", "e2e"),
        ("pipeline messages/s", "pipeline"),
        ("preferences cost in the pipeline", "pipeline"),
        ("a grouped update", "grouping"),
        ("digest run", "digest"),
    ]:
        rows = _rows(summary, label)
        stale = f"stale: from {dates[name]}, not this run"
        assert rows and all(stale in row for row in rows), rows
    assert f"**Not this run's figures (e2e): stale: from {dates['e2e']}" in summary
    assert "**Not this run's figures (gateway)" not in summary


def test_a_result_written_before_the_run_began_is_not_current(results):
    began = time.time()
    assert not freshness.is_current(results / "e2e.json", began)
    assert not freshness.is_current(results / "missing.json", began)
    notes = freshness.stale_notes(results, began, ran={"e2e"}, failed=set())
    assert notes["e2e"] == f"stale: from {_dates()['e2e']}, not this run"


def test_the_preferences_cost_is_the_median_run_against_its_target(
    results, monkeypatch
):
    """bench_pipeline's preferences variant: one row per messages per task, the median
    of the runs' costs (1 - with / without), met at 10 % or less."""
    path = results / "pipeline.json"
    data = json.loads(path.read_text())
    costs = [(1, 1000, 990), (1, 1000, 850), (1, 1000, 950), (10, 4000, 3000),
             (10, 4000, 3500), (10, 4000, 3400)]
    data["preferences"] = {"cost": [
        {"run": i // 2 + 1, "messages_per_task": k, "without_per_s": without,
         "with_per_s": with_kind, "cost": round(1 - with_kind / without, 3)}
        for i, (k, without, with_kind) in enumerate(costs)
    ]}
    data.pop("brokers", None)  # the Redis broker's figures, read at the top level
    path.write_text(json.dumps(data))
    monkeypatch.setattr(report, "RESULTS", results)

    rows = [row for row in run_all.targets() if row[0].startswith("preferences cost")]
    medians = " of messages/s (with a kind / without, median of 3 run(s))"
    assert [(row[0].split(": ")[1], row[1], row[2], row[-1]) for row in rows] == [
        ("5.0 %" + medians, 950, 1000, "met"),
        ("15.0 %" + medians, 3400, 4000, "**missed**"),
    ]


def test_a_pipeline_result_without_the_preferences_figure_says_so(results, monkeypatch):
    """A result written before bench_pipeline measured preferences: the target's row is
    there, not measured."""
    path = results / "pipeline.json"
    data = json.loads(path.read_text())
    for broker in [data, *data.get("brokers", {}).values()]:
        broker.pop("preferences", None)
    path.write_text(json.dumps(data))
    monkeypatch.setattr(report, "RESULTS", results)

    rows = [row for row in run_all.targets() if row[0].startswith("preferences cost")]
    assert rows, "no preferences row"
    assert all("not measured" in row[0] and row[-1] == "?" for row in rows), rows
