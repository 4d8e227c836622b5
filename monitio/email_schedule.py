"""Local-time arithmetic for e-mail policies: quiet hours and digest windows.

Every instant is aware and computed from a user's IANA time zone, so windows follow
daylight saving time: a daily digest at 08:00 in Europe/Warsaw goes out at 07:00 UTC
in summer and 06:00 UTC in winter, once per local day. A local hour that does not
exist (the spring-forward gap) means the first instant after the gap; one that
happens twice (autumn) means its first occurrence (PEP 495, ``fold=0``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo

from .email_policy import DIGEST_DAILY, DIGEST_HOURLY, DIGEST_WEEKLY, Policy

UTC = timezone.utc


def at_local(day: date, hour: int, zone: tzinfo) -> datetime:
    """The instant (UTC) the clock in ``zone`` shows ``hour``:00 on ``day``."""
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def next_local_hour(now: datetime, hour: int, zone: tzinfo, weekday: int | None = None) -> datetime:
    """The first instant after ``now`` at local ``hour``:00 (on ``weekday``, if given)."""
    today = now.astimezone(zone).date()
    for offset in range(9):
        day = today + timedelta(days=offset)
        if weekday is not None and day.weekday() != weekday:
            continue
        instant = at_local(day, hour, zone)
        if instant > now:
            return instant
    raise AssertionError("unreachable: a week always has the weekday")


def digest_due(policy: Policy, now: datetime, zone: tzinfo) -> datetime:
    """When the digest a message arriving at ``now`` belongs to is sent: the end of
    the current window of ``policy``."""
    if policy.mode == DIGEST_HOURLY:
        local = now.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        return local.astimezone(UTC) + timedelta(hours=1)
    if policy.mode == DIGEST_DAILY:
        return next_local_hour(now, policy.hour, zone)
    if policy.mode == DIGEST_WEEKLY:
        return next_local_hour(now, policy.hour, zone, weekday=policy.weekday)
    raise ValueError(f"{policy} is not a digest policy")


def quiet(now: datetime, start: int | None, end: int | None, zone: tzinfo) -> bool:
    """Whether ``now`` falls in quiet hours from local ``start``:00 to ``end``:00
    (which may span midnight: 22 to 7)."""
    if start is None or end is None or start == end:
        return False
    hour = now.astimezone(zone).hour
    return start <= hour < end if start < end else hour >= start or hour < end


def after_quiet(instant: datetime, start: int | None, end: int | None, zone: tzinfo) -> datetime:
    """``instant``, or the end of the quiet hours it falls in."""
    if not quiet(instant, start, end, zone):
        return instant
    return next_local_hour(instant, end, zone)
