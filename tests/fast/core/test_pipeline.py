"""The Celery side, against a real worker and a real Redis: persist, publish, e-mail."""

import json
import time
import uuid

import pytest
from celery import signals as celery_signals
from django.core import mail
from django.test import override_settings

import monitio
from monitio import delivery, wire
from monitio.models import Message
from monitio_tasks import tasks
from tests import email_backends
from tests.waiting import wait_until

PREFIX = "monitio-test"


def user_events(redis_client, user):
    return redis_client.xrange(wire.user_stream_key(PREFIX, user.pk))


@pytest.fixture
def task_failures():
    failures = []

    def record(sender=None, exception=None, **kwargs):
        failures.append((sender.name, exception))

    celery_signals.task_failure.connect(record, weak=False)
    yield failures
    celery_signals.task_failure.disconnect(record)


def test_create_message_is_stored_and_published(worker, alice, bob, redis_client):
    message_id = monitio.create_message(
        bob, monitio.WARNING, "<b>careful</b>", from_user=alice, subject="Heads up",
        close_timeout=5000, url="/somewhere/",
    )
    # The worker stores the row, then publishes it and records when: wait for both.
    row = wait_until(lambda: Message.objects.filter(pk=message_id, published_at__isnull=False).first())
    assert (row.user, row.from_user, row.subject, row.close_timeout) == (bob, alice, "Heads up", 5000)
    assert not row.safe
    events = wait_until(lambda: user_events(redis_client, bob))
    assert len(events) == 1
    entry_id, fields = events[0]
    assert fields["e"] == "message"
    data = json.loads(fields["d"])
    assert data["id"] == str(message_id) and data["message"] == "<b>careful</b>"
    assert data["from_user"] == "alice" and data["unread"] == 1 and data["tags"] == "warning"
    assert data["persistent"] is True and data["safe"] is False
    fanout = redis_client.xrange(wire.fanout_key(PREFIX))
    assert fanout[-1][1]["u"] == str(bob.pk) and fanout[-1][1]["i"] == entry_id


def test_safe_text_is_flagged_safe(worker, alice, redis_client):
    from django.utils.safestring import mark_safe

    monitio.create_message(alice, monitio.INFO, mark_safe("<em>trusted</em>"))
    row = wait_until(lambda: Message.objects.first())
    assert row.safe and str(row) == "<em>trusted</em>" and hasattr(str(row), "__html__")


def test_sse_false_stores_without_publishing(worker, alice, redis_client):
    monitio.create_message(alice, monitio.INFO, "quiet", sse=False)
    wait_until(lambda: Message.objects.filter(published_at__isnull=False).exists())
    assert user_events(redis_client, alice) == []


def test_create_message_delay_from_a_job_takes_ids(worker, alice, bob, redis_client):
    monitio.create_message.delay(bob.pk, monitio.INFO, "from a job", from_user=alice.pk, subject="Job")
    row = wait_until(lambda: Message.objects.filter(user=bob).first())
    assert row.from_user == alice and row.subject == "Job"


def test_redelivered_create_message_task_makes_one_row(worker, alice, redis_client):
    task_id = str(uuid.uuid4())
    for _ in range(3):
        tasks.create_message.apply_async((alice.pk, monitio.INFO, "once"), task_id=task_id)
    wait_until(lambda: Message.objects.count() == 1)
    time.sleep(0.5)
    assert Message.objects.count() == 1
    assert len(user_events(redis_client, alice)) == 1


def test_every_task_twice_gives_one_row_event_and_email_each(worker, alice, bob, redis_client):
    """R6: idempotent tasks, 1,000 messages delivered twice."""
    from monitio import payloads

    batch = [
        payloads.build(user_id=(alice if i % 2 else bob).pk, level=monitio.INFO, message=f"m{i}",
                       email=i % 100 == 0)
        for i in range(1000)
    ]
    tasks.deliver.delay(batch)
    tasks.deliver.delay(batch)
    wait_until(lambda: Message.objects.count() == 1000 and Message.objects.filter(published_at__isnull=True).count() == 0)
    wait_until(lambda: len(mail.outbox) >= 10, message="10 e-mails")
    for message_id in Message.objects.filter(email=True).values_list("pk", flat=True):
        tasks.send_email.delay(str(message_id))  # a duplicated e-mail task
    time.sleep(1.5)
    events = user_events(redis_client, alice) + user_events(redis_client, bob)
    distinct = {json.loads(f["d"])["id"] for _, f in events}
    rows, emails = Message.objects.count(), len(mail.outbox)
    print(f"R6 messages=1000 deliveries=2 rows={rows} events={len(events)} distinct_event_messages={len(distinct)} emails={emails}/10")
    assert (rows, len(events), len(distinct), emails) == (1000, 1000, 1000, 10)


def test_bulk_send_to_many_users(worker, alice, redis_client, django_user_model):
    django_user_model.objects.bulk_create(
        django_user_model(username=f"user{i}") for i in range(2000)
    )
    recipients = django_user_model.objects.filter(username__startswith="user")
    started = time.monotonic()
    batch_id = monitio.create_messages(recipients, monitio.INFO, "to everyone", from_user=alice)
    wait_until(lambda: Message.objects.filter(published_at__isnull=False).count() == 2000, timeout=60)
    elapsed = time.monotonic() - started
    some = recipients.first()
    assert Message.objects.get(user=some).pk == uuid.uuid5(batch_id, str(some.pk))
    assert len(user_events(redis_client, some)) == 1
    print(f"bulk users=2000 seconds_until_all_published={elapsed:.2f}")


def test_bulk_redelivery_duplicates_nothing(worker, alice, bob, redis_client):
    from monitio import payloads

    template = payloads.build(user_id=None, level=monitio.INFO, message="twice")
    tasks.deliver_bulk.delay([alice.pk, bob.pk], template)
    tasks.deliver_bulk.delay([alice.pk, bob.pk], template)
    wait_until(lambda: Message.objects.count() == 2)
    time.sleep(1)
    assert Message.objects.count() == 2
    assert len(user_events(redis_client, alice)) == 1


def test_missing_recipient_fails_visibly_without_retry_and_loses_nothing_else(
    worker, alice, redis_client, task_failures
):
    retries = []
    celery_signals.task_retry.connect(lambda **kw: retries.append(kw), weak=False)
    from monitio import payloads

    batch = [
        payloads.build(user_id=alice.pk, level=monitio.INFO, message="fine"),
        payloads.build(user_id=987654, level=monitio.INFO, message="nobody"),
    ]
    tasks.deliver.delay(batch)
    wait_until(lambda: task_failures)
    assert Message.objects.filter(user=alice).count() == 1
    name, exc = task_failures[0]
    assert name == "monitio_tasks.deliver" and isinstance(exc, delivery.RecipientMissing)
    assert "recipient does not exist" in str(exc)
    assert retries == []


# -- e-mail ---------------------------------------------------------------------------


def test_email_is_rendered_from_templates_and_sent_once(worker, alice, bob, redis_client):
    alice.email = "alice@example.com"
    alice.save()
    message_id = monitio.create_message(
        bob, monitio.INFO, "Line one\n<script>x</script>", from_user=alice, subject="Hello Bob",
        email=True,
    )
    wait_until(lambda: len(mail.outbox) == 1)
    email = mail.outbox[0]
    assert email.subject == "Hello Bob"
    assert email.to == ["bob@example.com"] and email.reply_to == ["alice@example.com"]
    assert email.from_email == "notifications@example.com"
    assert "<script>x</script>" in email.body and "alice sent you a message" in email.body
    html = email.alternatives[0][0]
    assert "&lt;script&gt;" in html and "<script>" not in html
    row = wait_until(lambda: Message.objects.filter(pk=message_id, email_status="sent").first())
    assert row.email_sent_at is not None


@override_settings(**email_backends.backend_settings("tests.email_backends.FlakyBackend"))
@pytest.mark.parametrize("failures", [1, 2, 3])
def test_transient_smtp_failures_are_retried_with_backoff(worker, bob, redis_client, failures):
    """R7: k transient failures, then success."""
    retry_times = []
    celery_signals.task_retry.connect(lambda **kw: retry_times.append(time.monotonic()), weak=False)
    email_backends.fail_next(failures)
    started = time.monotonic()
    message_id = monitio.create_message(bob, monitio.INFO, "eventually", email=True)
    row = wait_until(lambda: Message.objects.filter(pk=message_id, email_status="sent").first(), timeout=60)
    delays = [round(t - s, 2) for s, t in zip([started, *retry_times], retry_times)]
    print(f"R7 failures={failures} attempts={email_backends.attempts} retry_signals={len(retry_times)} "
          f"delay_bound_s={[min(300, 2 * 2**n) for n in range(failures)]} status={row.email_status}")
    assert email_backends.attempts == failures + 1 and row.email_status == "sent"
    assert len(mail.outbox) == 1
    assert all(d >= 0 for d in delays)


@pytest.mark.parametrize(
    "subject",
    ["Hi\r\nBcc: victim@example.com", "Hi\nBcc: x@example.com", "Hi\rX: y",
     # Line breaks to str.splitlines(), which Python's e-mail headers refuse too.
     "Hi\u2028Bcc: x@example.com", "Hi\x85X: y", "Hi\vX: y"],
)
def test_header_injection_is_refused_not_sent(worker, bob, redis_client, task_failures, subject):
    """S12: line breaks in a header fail the e-mail for good, without retry."""
    retries = []
    celery_signals.task_retry.connect(lambda **kw: retries.append(kw), weak=False)
    message_id = monitio.create_message(bob, monitio.INFO, "text", subject=subject, email=True)
    row = wait_until(lambda: Message.objects.filter(pk=message_id, email_status="failed").first())
    assert "line break" in row.email_error
    assert mail.outbox == [] and retries == []


def test_recipient_without_address_fails_visibly(worker, redis_client, django_user_model):
    nomail = django_user_model.objects.create_user("nomail")
    message_id = monitio.create_message(nomail, monitio.INFO, "text", email=True)
    row = wait_until(lambda: Message.objects.filter(pk=message_id, email_status="failed").first())
    assert "no e-mail address" in row.email_error


def test_state_change_is_published_with_unread_count(worker, alice, redis_client):
    first = monitio.create_message(alice, monitio.INFO, "one")
    monitio.create_message(alice, monitio.INFO, "two")
    wait_until(lambda: len(user_events(redis_client, alice)) == 2)
    monitio.state.mark_read(alice, [first])
    events = wait_until(lambda: user_events(redis_client, alice)[2:])
    assert events[0][1]["e"] == "read"
    assert json.loads(events[0][1]["d"]) == {"ids": [str(first)], "unread": 1}
    monitio.state.delete(alice, only_read=True)
    events = wait_until(lambda: user_events(redis_client, alice)[3:])
    assert events[0][1]["e"] == "deleted"
    assert json.loads(events[0][1]["d"]) == {"ids": [str(first)], "unread": 1}


def test_delay_dates_the_message_when_the_job_asks(worker, alice, redis_client):
    """Consecutive messages from a job keep their order even if workers race."""
    from django.utils import timezone

    before = timezone.now()
    monitio.create_message.delay(alice.pk, monitio.INFO, "first")
    after = timezone.now()
    row = wait_until(lambda: Message.objects.filter(user=alice).first())
    assert before <= row.created <= after
