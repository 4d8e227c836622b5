"""Figures, tables and result files shared by every benchmark."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import psutil

#: ``BENCH_RESULTS`` moves them (the smoke test writes to a temporary directory).
RESULTS = Path(
    os.environ.get("BENCH_RESULTS", Path(__file__).resolve().parent / "results")
)


def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile ``q`` (0-100) of ``values``; ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def spread(values: list[float]) -> dict[str, float | None]:
    return {
        "n": len(values),
        "min": min(values, default=None),
        "p50": pct(values, 50),
        "p99": pct(values, 99),
        "max": max(values, default=None),
    }


def micros(seconds: list[float]) -> dict[str, Any]:
    """:func:`spread` of ``seconds``, in µs."""
    return {
        stat: (round(v * 1e6, 1) if stat != "n" and v is not None else v)
        for stat, v in spread(seconds).items()
    }


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def ratio(ours: float | None, theirs: float | None) -> float | None:
    if not ours or not theirs:
        return None
    return round(ours / theirs, 2)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def write(name: str, data: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` with the date and the machine added."""
    RESULTS.mkdir(exist_ok=True)
    data = {
        "benchmark": name,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        **data,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path


def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    """Return (and print) a Markdown table."""

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    lines = [
        f"### {title}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    text = "\n".join(lines) + "\n"
    print(text, flush=True)
    return text
