"""E-mail policies: when a message's e-mail goes out, as a value a site or user picks.

A policy is written as a short string, the same in code, the JSON endpoint and the
database:

================== ==========================================================
``immediate``       sent at once (after quiet hours, if they are on)
``unread_after:N``  sent N minutes (1-10080) after the message arrives, only if
                    it is still unread then
``digest_hourly``   listed in an hourly digest
``digest_daily:H``  listed in a daily digest sent at local hour H (0-23)
``digest_weekly:D:H`` listed in a weekly digest sent on weekday D (0 = Monday)
                    at local hour H
``off``             not e-mailed (the same as turning the kind's e-mail off)
================== ==========================================================

Malformed policies and unknown time zones raise :class:`InvalidPolicy`, a
``ValueError``, before anything is stored.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

from .exceptions import InvalidPreference

IMMEDIATE = "immediate"
UNREAD_AFTER = "unread_after"
DIGEST_HOURLY = "digest_hourly"
DIGEST_DAILY = "digest_daily"
DIGEST_WEEKLY = "digest_weekly"
OFF = "off"
MODES = (IMMEDIATE, UNREAD_AFTER, DIGEST_HOURLY, DIGEST_DAILY, DIGEST_WEEKLY, OFF)
DIGESTS = (DIGEST_HOURLY, DIGEST_DAILY, DIGEST_WEEKLY)
#: How many numbers each mode takes after its name.
_ARITY = {IMMEDIATE: 0, UNREAD_AFTER: 1, DIGEST_HOURLY: 0, DIGEST_DAILY: 1, DIGEST_WEEKLY: 2, OFF: 0}
#: Longest delay of ``unread_after``: a week.
MAX_MINUTES = 7 * 24 * 60


class InvalidPolicy(InvalidPreference):
    """An e-mail policy, time zone or quiet hour that does not exist."""


@dataclass(frozen=True)
class Policy:
    """A parsed policy: its mode and the numbers the mode takes."""

    mode: str
    minutes: int | None = None
    weekday: int | None = None
    hour: int | None = None

    @property
    def digest(self) -> bool:
        return self.mode in DIGESTS

    def __str__(self) -> str:
        numbers = {UNREAD_AFTER: [self.minutes], DIGEST_DAILY: [self.hour],
                   DIGEST_WEEKLY: [self.weekday, self.hour]}.get(self.mode, [])
        return ":".join([self.mode, *map(str, numbers)])


def parse(value: str | Policy) -> Policy:
    """The policy ``value`` names; raise :class:`InvalidPolicy` when it is malformed."""
    if isinstance(value, Policy):
        return value
    if not isinstance(value, str):
        raise InvalidPolicy(f"An e-mail policy must be a str such as 'digest_daily:8', not {value!r}.")
    mode, *parts = value.split(":")
    if mode not in MODES:
        raise InvalidPolicy(f"Unknown e-mail policy {mode!r}; the policies are {', '.join(MODES)}.")
    if len(parts) != _ARITY[mode]:
        raise InvalidPolicy(f"E-mail policy {value!r}: {mode} takes {_ARITY[mode]} number(s), e.g. "
                            f"{_EXAMPLES[mode]!r}.")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise InvalidPolicy(f"E-mail policy {value!r}: expected whole numbers after {mode!r}.") from None
    if mode == UNREAD_AFTER:
        return Policy(mode, minutes=_within(numbers[0], 1, MAX_MINUTES, "minutes"))
    if mode == DIGEST_DAILY:
        return Policy(mode, hour=check_hour(numbers[0]))
    if mode == DIGEST_WEEKLY:
        return Policy(mode, weekday=_within(numbers[0], 0, 6, "weekday"), hour=check_hour(numbers[1]))
    return Policy(mode)


_EXAMPLES = {IMMEDIATE: IMMEDIATE, UNREAD_AFTER: "unread_after:30", DIGEST_HOURLY: DIGEST_HOURLY,
             DIGEST_DAILY: "digest_daily:8", DIGEST_WEEKLY: "digest_weekly:0:8", OFF: OFF}


def check_hour(value: object) -> int:
    """``value`` if it is a local hour, 0-23; else raise :class:`InvalidPolicy`."""
    return _within(value, 0, 23, "hour")


def _within(value: object, low: int, high: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidPolicy(f"{name} must be a whole number from {low} to {high}, not {value!r}.")
    return value


def check_time_zone(name: object) -> zoneinfo.ZoneInfo:
    """The time zone called ``name`` (an IANA name such as "Europe/Warsaw")."""
    if not isinstance(name, str) or not name:
        raise InvalidPolicy(f"A time zone must be an IANA name such as 'Europe/Warsaw', not {name!r}.")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidPolicy(f"Unknown time zone {name!r}; use an IANA name such as 'Europe/Warsaw'.") from None
