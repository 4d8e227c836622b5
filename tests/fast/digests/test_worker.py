"""With a real Celery worker (threads, in this process, so it reads the same
monitio clock) and Redis: delayed e-mails wait in the database, not in the broker,
and the beat task ``send_due_emails`` sends what is due, skipping what was read."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

import monitio
from monitio import clock, email_settings, state
from monitio.models import Message
from monitio_tasks.tasks import send_due_emails
from tests.waiting import wait_until


def test_unread_after_waits_in_the_database_and_beat_sends_what_is_still_unread(worker, alice, mailoutbox):
    email_settings.change_policies(alice, {"reply": "unread_after:10"})
    start = timezone.now()
    with clock.frozen(start):
        with transaction.atomic():
            kept = monitio.create_message(alice, monitio.INFO, "unread one", kind="reply", email=True)
            read = monitio.create_message(alice, monitio.INFO, "read one", kind="reply", email=True)
        rows = wait_until(lambda: Message.objects.filter(email_due_at__isnull=False).count() == 2 and
                          list(Message.objects.all()))
        assert all(r.email_status == "pending" and r.email_if_unread for r in rows)
    state.mark_read(alice, [str(read)])
    with clock.frozen(start + timedelta(minutes=11)):
        send_due_emails.delay()
        wait_until(lambda: Message.objects.exclude(email_status="pending").count() == 2,
                   message="both e-mails decided")
    assert [m.body.count("unread one") for m in mailoutbox] == [1]
    statuses = dict(Message.objects.values_list("message", "email_status"))
    assert statuses == {"unread one": "sent", "read one": "skipped"}
    assert str(kept) in {str(pk) for pk in Message.objects.filter(email_status="sent").values_list("pk", flat=True)}
