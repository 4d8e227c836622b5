"""The bench extra brings everything the benchmarks import, and a missing database
driver stops a benchmark at once with a line that says what to install."""

from __future__ import annotations

import configparser
import os
from pathlib import Path

from tests.fast.bench.runner import run_module

ROOT = Path(__file__).resolve().parents[3]


def test_bench_extra_installs_the_postgresql_driver():
    """The request-cost benchmark measures on PostgreSQL too: `pip install .[bench]`
    must bring psycopg (a fresh machine failed with ModuleNotFoundError)."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    bench = config["options.extras_require"]["bench"].split()
    assert any(requirement.startswith("psycopg") for requirement in bench), bench


def test_request_cost_without_psycopg_fails_at_once_and_says_what_to_install(tmp_path):
    """A machine without the PostgreSQL driver: the benchmark stops before measuring
    anything, with one line naming the driver and the extra that brings it."""
    missing = tmp_path / "without_psycopg" / "psycopg"
    missing.mkdir(parents=True)
    (missing / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'psycopg'\", name='psycopg')\n"
    )
    (tmp_path / "run").mkdir()
    env = {
        **os.environ,
        "BENCH_RESULTS": str(tmp_path / "results"),
        "BENCH_RUN": str(tmp_path / "run"),
        "PYTHONPATH": f"{missing.parent}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
    }
    proc = run_module("bench.bench_request_cost", "--samples", "5", "--runs", "1", env=env)
    assert proc.returncode != 0
    assert "| monitio-1 |" not in proc.stdout  # nothing was measured
    last = proc.stderr.strip().splitlines()[-1]
    assert "psycopg" in last and "pip install -e '.[bench]'" in last, last
    assert not (tmp_path / "results" / "request_cost.json").exists()
