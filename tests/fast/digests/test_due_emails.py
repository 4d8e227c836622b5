"""Immediate, quiet hours and unread_after, decided by the worker's delivery function
and sent by the due-mail sweep, at instants set on monitio's clock (no sleeps)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from monitio import clock, email_delivery, email_settings, emails, state
from monitio.models import Message

from .conftest import deliver

pytestmark = pytest.mark.usefixtures("redis_client")
UTC = timezone.utc
NOON = datetime(2026, 7, 1, 12, tzinfo=UTC)  # 14:00 in Warsaw
NIGHT = datetime(2026, 7, 1, 22, tzinfo=UTC)  # 00:00 in Warsaw


def row(message_id: str) -> Message:
    return Message.objects.get(pk=message_id)


def sweep(now: datetime) -> list[str]:
    """What the beat task does: queue what is due (here: send it in-process)."""
    due = email_delivery.due(now)
    for message_id in due:
        emails.send(message_id, attempt="sweep")
    email_delivery.queued(due)
    return due


def test_immediate_outside_quiet_hours_is_sent_by_its_task(alice):
    email_settings.change_settings(alice, time_zone="Europe/Warsaw", quiet_start=22, quiet_end=7)
    with clock.frozen(NOON):
        message_id = deliver(alice, "now")
    assert row(message_id).email_due_at is None
    assert row(message_id).email_status == "pending"


def test_quiet_hours_delay_immediate_mail_to_their_end(alice, mailoutbox):
    email_settings.change_settings(alice, time_zone="Europe/Warsaw", quiet_start=22, quiet_end=7)
    with clock.frozen(NIGHT):
        message_id = deliver(alice, "at night")
    end = datetime(2026, 7, 2, 5, tzinfo=UTC)  # 07:00 in Warsaw
    assert row(message_id).email_due_at == end
    assert sweep(end - timedelta(seconds=1)) == [] and mailoutbox == []
    assert sweep(end) == [message_id]
    assert [m.body.count("at night") for m in mailoutbox] == [1]
    assert row(message_id).email_status == "sent" and row(message_id).email_due_at is None
    assert sweep(end + timedelta(minutes=1)) == [] and len(mailoutbox) == 1


def test_unread_after_sends_only_what_is_still_unread(alice, mailoutbox):
    email_settings.change_policies(alice, {"reply": "unread_after:30"})
    with clock.frozen(NOON):
        kept = deliver(alice, "still unread", created=NOON)
        read = deliver(alice, "read meanwhile", created=NOON)
    due = NOON + timedelta(minutes=30)
    assert row(kept).email_due_at == due and row(kept).email_if_unread
    state.mark_read(alice, [read])
    assert sweep(due - timedelta(seconds=1)) == []
    assert sweep(due) == [kept]
    assert [m.body.count("still unread") for m in mailoutbox] == [1]
    assert row(read).email_status == "skipped" and row(kept).email_status == "sent"


def test_read_between_queueing_and_sending_is_skipped_by_the_send(alice, mailoutbox):
    email_settings.change_policies(alice, {"reply": "unread_after:5"})
    with clock.frozen(NOON):
        message_id = deliver(alice, "raced", created=NOON)
    due = email_delivery.due(NOON + timedelta(minutes=5))
    state.mark_read(alice, [message_id])
    assert emails.send(due[0], attempt="t") == "skipped" and mailoutbox == []


def test_unread_after_ending_in_quiet_hours_waits_for_their_end(alice):
    email_settings.change_settings(alice, time_zone="Europe/Warsaw", quiet_start=22, quiet_end=7)
    email_settings.change_policies(alice, {"reply": "unread_after:120"})
    evening = datetime(2026, 7, 1, 19, tzinfo=UTC)  # 21:00 local; +2 h is 23:00
    with clock.frozen(evening):
        message_id = deliver(alice, "late", created=evening)
    assert row(message_id).email_due_at == datetime(2026, 7, 2, 5, tzinfo=UTC)


def test_digest_policy_leaves_the_message_for_its_window(alice):
    email_settings.change_settings(alice, time_zone="Europe/Warsaw")
    email_settings.change_policies(alice, {"reply": "digest_daily:8"})
    with clock.frozen(NOON):
        message_id = deliver(alice, "for the digest")
    assert row(message_id).email_status == "digest"
    assert row(message_id).email_due_at == datetime(2026, 7, 2, 6, tzinfo=UTC)
    assert email_delivery.due(datetime(2026, 7, 3, tzinfo=UTC)) == []  # not the due-mail sweep's


def test_turned_off_kind_sends_nothing(alice, mailoutbox):
    email_settings.change_policies(alice, {"reply": "off"})
    message_id = deliver(alice, "quiet")
    assert row(message_id).email_status == "optout" and row(message_id).email_due_at is None
