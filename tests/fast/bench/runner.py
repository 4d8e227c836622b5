"""Run a benchmark module as CI would: its own process, from the repository root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run_module(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m <args>`` with ``env``; its output captured, never raising on failure."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
