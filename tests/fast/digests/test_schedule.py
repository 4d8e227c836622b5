"""Local-time windows and quiet hours, at chosen instants (no clock, no sleeps),
across the daylight saving changes of Europe/Warsaw."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from monitio.email_policy import parse
from monitio.email_schedule import after_quiet, digest_due, quiet

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def daily_sends(policy: str, start: datetime, days: int) -> list[datetime]:
    """The successive digest instants from ``start``: each the due time of a message
    arriving just after the previous one."""
    sends, now = [], start
    while len(sends) < days:
        now = digest_due(parse(policy), now, WARSAW)
        sends.append(now)
    return sends


def test_daily_digest_follows_warsaw_across_spring_forward():
    # 2026-03-29 02:00 CET -> 03:00 CEST.
    sends = daily_sends("digest_daily:8", utc(2026, 3, 27, 12), 4)
    assert sends == [utc(2026, 3, 28, 7), utc(2026, 3, 29, 6), utc(2026, 3, 30, 6), utc(2026, 3, 31, 6)]
    assert [s.astimezone(WARSAW).hour for s in sends] == [8, 8, 8, 8]
    assert sends[1] - sends[0] == timedelta(hours=23)


def test_daily_digest_in_the_missing_hour_goes_out_once_after_the_gap():
    sends = daily_sends("digest_daily:2", utc(2026, 3, 27, 12), 3)
    assert sends == [utc(2026, 3, 28, 1), utc(2026, 3, 29, 1), utc(2026, 3, 30, 0)]
    assert sends[1].astimezone(WARSAW).hour == 3  # 02:00 did not exist that night


def test_daily_digest_in_the_repeated_hour_goes_out_once():
    # 2026-10-25 03:00 CEST -> 02:00 CET: 02:xx happens twice.
    sends = daily_sends("digest_daily:2", utc(2026, 10, 23, 12), 4)
    assert sends == [utc(2026, 10, 24, 0), utc(2026, 10, 25, 0), utc(2026, 10, 26, 1), utc(2026, 10, 27, 1)]
    assert len(set(sends)) == 4
    assert sends[2] - sends[1] == timedelta(hours=25)


def test_hourly_and_weekly_windows():
    assert digest_due(parse("digest_hourly"), utc(2026, 3, 29, 0, 59, 59), WARSAW) == utc(2026, 3, 29, 1)
    kolkata = ZoneInfo("Asia/Kolkata")  # +05:30: local hours start at half past in UTC
    assert digest_due(parse("digest_hourly"), utc(2026, 1, 1, 10, 0), kolkata) == utc(2026, 1, 1, 10, 30)
    # Monday 09:00 local; 2026-10-26 is a Monday, the day after the change.
    assert digest_due(parse("digest_weekly:0:9"), utc(2026, 10, 20, 12), WARSAW) == utc(2026, 10, 26, 8)
    assert digest_due(parse("digest_weekly:0:9"), utc(2026, 10, 26, 8), WARSAW) == utc(2026, 11, 2, 8)


def test_quiet_hours_over_midnight_end_at_their_local_end():
    assert quiet(utc(2026, 7, 1, 21), 22, 7, WARSAW)  # 23:00 CEST
    assert not quiet(utc(2026, 7, 1, 19), 22, 7, WARSAW)  # 21:00
    assert after_quiet(utc(2026, 7, 1, 21), 22, 7, WARSAW) == utc(2026, 7, 2, 5)
    assert after_quiet(utc(2026, 7, 1, 19), 22, 7, WARSAW) == utc(2026, 7, 1, 19)
    assert not quiet(utc(2026, 7, 1, 21), None, None, WARSAW)
    # The night of the autumn change is an hour longer; the end is still 07:00 local.
    assert after_quiet(utc(2026, 10, 24, 22), 22, 7, WARSAW) == utc(2026, 10, 25, 6)
