"""Smoke test of the benchmark harness: the quickest benchmark runs and writes
well-formed results. It asserts the shape of the output, never a timing."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.fast.bench.runner import run_module

ROOT = Path(__file__).resolve().parents[3]


def test_request_cost_benchmark_writes_well_formed_json(tmp_path):
    env = {
        **os.environ,
        "BENCH_RESULTS": str(tmp_path / "results"),
        "BENCH_RUN": str(tmp_path / "run"),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
    }
    (tmp_path / "run").mkdir()
    proc = run_module("bench.bench_request_cost", "--samples", "5", "--runs", "1", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| monitio-1 |" in proc.stdout
    data = json.loads((tmp_path / "results" / "request_cost.json").read_text())
    assert data["benchmark"] == "request_cost"
    assert data["machine"]["cores"] >= 1
    assert data["variants"] == data["databases"]["sqlite"]["variants"]
    assert data["databases"]["sqlite"]["database"]["vendor"] == "sqlite"
    for measured in data["databases"].values():
        [load] = measured["machine"]  # one run: the machine's CPU use meanwhile
        assert 0 < load["busy_pct"] <= 100 and 0 <= load["steal_pct"] <= 100
        variants = measured["variants"]
        assert set(variants) == {
            f"{v}-{k}"
            for v in ("monitio", "django-session", "sync-insert", "sync-insert-atomic")
            for k in (1, 10)
        } | {"redis-round-trip"}
        for key, row in variants.items():
            if key != "redis-round-trip":  # the view's calls are part of the request
                assert 0 < row["calls_us"]["p50"] <= row["us"]["p50"]
            assert row["samples"] == 5
            assert row["us"]["n"] == 5
            assert 0 < row["us"]["min"] <= row["us"]["p50"] <= row["us"]["max"]
            assert row["redis_commands_per_request"] >= 0
        assert variants["monitio-10"]["redis_commands_per_request"] <= 1.05
