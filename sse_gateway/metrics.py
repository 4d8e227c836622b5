"""Counters of one gateway process, rendered in the Prometheus text format.

Each worker process counts for itself; the ``pid`` label tells workers apart when
several share one scrape target.
"""

from __future__ import annotations

import os
from collections.abc import Callable

_HELP = {
    "connections_total": ("counter", "Streams accepted."),
    "events_delivered_total": (
        "counter",
        "Events queued to clients (live and replay).",
    ),
    "events_replayed_total": ("counter", "Events sent from history on (re)connect."),
    "events_merged_total": (
        "counter",
        "Live events sent in one write with an earlier one of the same batch.",
    ),
    "resyncs_total": ("counter", "Resync events sent instead of a gap."),
    "catch_up_overflows_total": (
        "counter",
        "Resyncs sent because more live events came during a history read than a"
        " stream holds back (MONITIO_CLIENT_QUEUE_SIZE).",
    ),
    "slow_client_drops_total": (
        "counter",
        "Clients disconnected for reading too slowly.",
    ),
    "auth_rejected_total": ("counter", "Stream requests refused with 401."),
    "origin_rejected_total": ("counter", "Stream requests refused with 403 (Origin)."),
    "limit_rejected_total": ("counter", "Stream requests refused with 429 or 503."),
    "revoked_streams_total": ("counter", "Open streams closed by a revocation."),
    "resumes_total": (
        "counter",
        "Catch-ups of every client after a Redis reconnect or epoch change.",
    ),
}


class Metrics:
    """Plain integer counters, plus gauges read from callables at scrape time."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(_HELP, 0)
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def inc(self, name: str, amount: int = 1) -> None:
        self.counts[name] += amount

    def gauge(self, name: str, help: str, read: Callable[[], float]) -> None:
        self.gauges[name] = (help, read)

    def render(self) -> bytes:
        """Return the exposition text (format version 0.0.4)."""
        label = f'{{pid="{os.getpid()}"}}'
        lines = []
        for name, (kind, help) in _HELP.items():
            lines += [
                f"# HELP monitio_gateway_{name} {help}",
                f"# TYPE monitio_gateway_{name} {kind}",
                f"monitio_gateway_{name}{label} {self.counts[name]}",
            ]
        for name, (help, read) in self.gauges.items():
            lines += [
                f"# HELP monitio_gateway_{name} {help}",
                f"# TYPE monitio_gateway_{name} gauge",
                f"monitio_gateway_{name}{label} {read():g}",
            ]
        return ("\n".join(lines) + "\n").encode()
