"""Which result files a run produced, so that older figures are never shown as current.

``bench/results/`` keeps every benchmark's last result. A run that skips a benchmark
(``--only``), or in which one fails, leaves that benchmark's older file in place; the
summaries then mark its figures with the date they are from instead of presenting
them as this run's.
"""

from __future__ import annotations

import calendar
import json
import time
from pathlib import Path

#: The result files (``<name>.json``) each benchmark of ``run_all`` writes.
RESULT_FILES: dict[str, tuple[str, ...]] = {
    "gateway": ("connections", "broadcast", "throughput"),
    "request_cost": ("request_cost",),
    "e2e": ("e2e",),
    "pipeline": ("pipeline",),
    "grouping": ("grouping",),
    "reconnect": ("reconnect",),
    "digest": ("digest",),
}

DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def written_at(path: Path) -> float | None:
    """When ``path`` was written, from the ``date`` ``report.write`` stamps into it
    (whole seconds, UTC); ``None`` when it has none or is not JSON."""
    try:
        stamp = json.loads(path.read_text())["date"]
        return calendar.timegm(time.strptime(stamp, DATE_FORMAT))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_current(path: Path, started: float) -> bool:
    """Whether ``path`` exists and was written by a run that began at ``started``
    (``time.time()``)."""
    when = written_at(path)
    return when is not None and when >= int(started)


def stale_notes(
    results: Path, started: float, ran: set[str], failed: set[str]
) -> dict[str, str]:
    """For each result file in ``results`` that is not this run's, why.

    ``ran``: the benchmarks this run ran (from ``started``); ``failed``: those of them
    that failed. A file is current only when its benchmark ran, did not fail, and
    wrote it during this run.
    """
    notes: dict[str, str] = {}
    for benchmark, names in RESULT_FILES.items():
        for name in names:
            path = results / f"{name}.json"
            if not path.exists():
                continue
            when = written_at(path)
            date = time.strftime(DATE_FORMAT, time.gmtime(when)) if when else "unknown"
            if benchmark in failed:
                notes[name] = f"{benchmark} FAILED in this run; figures of {date}"
            elif benchmark not in ran or not is_current(path, started):
                notes[name] = f"stale: from {date}, not this run"
    return notes
