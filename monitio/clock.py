"""The current time, as every time-dependent part of monitio's e-mail reads it.

It is :func:`django.utils.timezone.now` unless a test sets another clock with
:func:`frozen`, so quiet hours, delays and digest windows are tested at chosen
instants instead of by sleeping. Only the process that sets it sees it (a worker
thread in the test process does; a worker subprocess does not).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone

_fixed: datetime | None = None


def now() -> datetime:
    """The current time (aware), or the one :func:`frozen` set."""
    return _fixed or timezone.now()


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Make :func:`now` return ``at`` (aware) inside the block."""
    global _fixed
    if timezone.is_naive(at):
        raise ValueError("frozen() needs an aware datetime")
    previous, _fixed = _fixed, at
    try:
        yield
    finally:
        _fixed = previous
