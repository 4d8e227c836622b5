"""Digests: one e-mail per user and window, each message listed once, what was read
meanwhile skipped, sent exactly once when two runs race (two threads, and a real
SMTP server in one test). Instants are set on monitio's clock, not waited for.

Printed::

    DIGEST threads users=… runs=2 emails=… duplicates=0
"""

from __future__ import annotations

import email
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from monitio import clock, digests, email_settings, state
from monitio.models import DigestRun, Message
from tests.email_backends import backend_settings
from tests.smtpsink import SmtpSink

from .conftest import deliver

SMTP = "django.core.mail.backends.smtp.EmailBackend"

pytestmark = pytest.mark.usefixtures("redis_client")
UTC = timezone.utc
NOON = datetime(2026, 7, 1, 12, tzinfo=UTC)
EIGHT = datetime(2026, 7, 2, 6, tzinfo=UTC)  # 08:00 in Warsaw


def daily_user(user, hour: int = 8) -> None:
    email_settings.change_settings(user, time_zone="Europe/Warsaw")
    email_settings.change_policies(user, {"reply": f"digest_daily:{hour}", "roundup": f"digest_daily:{hour}"})


def run(now: datetime, attempt: str = "a") -> int:
    return digests.send(digests.due_windows(now), attempt=attempt, now=now)


def test_a_digest_lists_each_unread_message_once_with_links_and_unsubscribe(alice, mailoutbox):
    daily_user(alice)
    with clock.frozen(NOON):
        ids = [deliver(alice, f"reply <{i}>", subject=f"s{i}") for i in range(3)]
        ids.append(deliver(alice, "roundup item", kind="roundup"))
        read = deliver(alice, "read meanwhile")
    state.mark_read(alice, [read])
    assert run(EIGHT - timedelta(seconds=1)) == 0
    assert run(EIGHT) == 1
    (mail,) = mailoutbox
    assert mail.to == ["alice@example.com"] and mail.subject == "4 new messages"
    for message_id in ids:
        assert mail.body.count(f"http://testserver/messages/{message_id}/") == 1
    assert "read meanwhile" not in mail.body and mail.body.count("reply <0>") == 1
    html = mail.alternatives[0][0]
    assert "reply &lt;0&gt;" in html and "Replies &lt;b&gt;" in html and "<b>" not in html
    assert mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.extra_headers["Message-ID"].startswith("<digest.")
    statuses = Counter(Message.objects.values_list("email_status", flat=True))
    assert statuses == {"digested": 4, "skipped": 1}
    assert run(EIGHT + timedelta(minutes=5)) == 0 and len(mailoutbox) == 1
    # The header's one-click POST turns off both kinds the digest listed.
    url = mail.extra_headers["List-Unsubscribe"].strip("<>")
    response = Client(enforce_csrf_checks=True).post(url, "List-Unsubscribe=One-Click",
                                                     content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert str(email_settings.policy_of(alice, "reply")) == str(email_settings.policy_of(alice, "roundup")) == "off"


def test_messages_after_a_window_wait_for_the_next_one(alice, mailoutbox):
    daily_user(alice)
    with clock.frozen(NOON):
        deliver(alice, "day one")
    with clock.frozen(EIGHT + timedelta(minutes=1)):
        deliver(alice, "day two")
    assert run(EIGHT + timedelta(minutes=2)) == 1
    assert run(EIGHT + timedelta(days=1)) == 1
    assert ["day one" in m.body and "day two" not in m.body for m in mailoutbox] == [True, False]
    assert "day two" in mailoutbox[1].body


def test_daily_digest_across_the_spring_change_goes_once_a_local_day(alice, mailoutbox):
    daily_user(alice, hour=2)  # 02:00 does not exist in Warsaw on 2026-03-29
    sent_at = []
    now = datetime(2026, 3, 27, 12, tzinfo=UTC)
    for _ in range(3):
        with clock.frozen(now):
            deliver(alice, f"at {now:%d %H:%M}")
        (window,) = digests.due_windows(now + timedelta(days=2))[:1]
        assert run(window[1]) == 1
        sent_at.append(window[1])
        now = window[1] + timedelta(minutes=1)
    assert sent_at == [datetime(2026, 3, 28, 1, tzinfo=UTC), datetime(2026, 3, 29, 1, tzinfo=UTC),
                       datetime(2026, 3, 30, 0, tzinfo=UTC)]
    assert len(mailoutbox) == 3 and DigestRun.objects.count() == 3


def test_a_message_stored_while_its_digest_was_sent_is_not_lost(alice, mailoutbox):
    daily_user(alice)
    with clock.frozen(NOON):
        deliver(alice, "first")
    windows = digests.due_windows(EIGHT)
    assert digests.send(windows, attempt="a", now=EIGHT) == 1
    with clock.frozen(EIGHT - timedelta(seconds=1)):  # delivered late into the same window
        late = deliver(alice, "straggler")
    assert digests.send(windows, attempt="b", now=EIGHT) == 0  # the window is done...
    assert run(EIGHT + timedelta(seconds=1)) == 1  # ...the straggler goes right after
    assert "straggler" in mailoutbox[1].body and Message.objects.get(pk=late).email_status == "digested"


def _users(n: int) -> list:
    User = get_user_model()
    return [User.objects.create_user(f"d{i}", f"d{i}@example.com") for i in range(n)]


def _race(windows, runs: int = 2) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(runs)

    def one(attempt: str) -> None:
        try:
            start.wait()
            digests.send(windows, attempt=attempt, now=EIGHT)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(f"thread-{i}",)) for i in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_two_concurrent_runs_send_each_digest_once(transactional_db, mailoutbox):
    users = _users(30)
    for user in users:
        daily_user(user)
        with clock.frozen(NOON):
            for i in range(3):
                deliver(user, f"m{i}")
    windows = digests.due_windows(EIGHT)
    assert len(windows) == 30
    assert _race(windows) == []
    per_user = Counter(m.to[0] for m in mailoutbox)
    duplicates = sum(n - 1 for n in per_user.values())
    print(f"DIGEST threads users={len(users)} runs=2 emails={len(mailoutbox)} duplicates={duplicates}")
    assert len(per_user) == 30 and duplicates == 0
    assert DigestRun.objects.filter(sent_at__isnull=False, messages=3).count() == 30


def test_exactly_once_over_real_smtp(transactional_db):
    sink = SmtpSink().start()
    try:
        users = _users(12)
        for user in users:
            daily_user(user)
            with clock.frozen(NOON):
                deliver(user, "over smtp")
        with override_settings(**backend_settings(SMTP, host="127.0.0.1", port=sink.port,
                                                  timeout=5)):
            windows = digests.due_windows(EIGHT)
            assert _race(windows, runs=3) == []
            assert digests.send(windows, attempt="late", now=EIGHT) == 0
    finally:
        sink.stop()
    parsed = [email.message_from_string(r.data) for r in sink.received]
    per_user = Counter(m["To"] for m in parsed)
    print(f"DIGEST smtp users={len(users)} runs=4 emails={len(parsed)} "
          f"duplicates={sum(n - 1 for n in per_user.values())}")
    assert sorted(per_user.values()) == [1] * 12
    assert all(m["List-Unsubscribe"] and m.is_multipart() for m in parsed)


@pytest.mark.parametrize("address", [
    "",
    # Every break str.splitlines() knows, refused as a message's e-mail refuses it
    # (emails.compose holds the one header check), not only CR and LF.
    *(f"bob@example.com{brk}Bcc: x@evil.test" for brk in ("\n", "\u2028", "\x85", "\x0b")),
])
def test_a_user_who_cannot_be_mailed_fails_alone(alice, bob, mailoutbox, address):
    bob.email = address
    bob.save()
    for user in (alice, bob):
        daily_user(user)
        with clock.frozen(NOON):
            deliver(user, f"for {user}")
    assert run(EIGHT) == 1
    assert [m.to for m in mailoutbox] == [["alice@example.com"]]
    assert dict(Message.objects.values_list("user__username", "email_status")) == {
        "alice": "digested", "bob": "failed"}
    assert DigestRun.objects.filter(sent_at__isnull=False).count() == 2  # bob's is done, not retried


def test_a_recipient_the_smtp_server_refuses_fails_alone(transactional_db):
    from bench.smtp_sink import Sink

    sink = Sink(refuse="refused").start()
    User = get_user_model()
    users = [User.objects.create_user(name, f"{name}@example.com") for name in ("a1", "refused", "a2")]
    for user in users:
        daily_user(user)
        with clock.frozen(NOON):
            deliver(user, "hello")
    try:
        with override_settings(**backend_settings(SMTP, host="127.0.0.1", port=sink.port,
                                                  timeout=5)):
            assert run(EIGHT) == 2
    finally:
        sink.stop()
    assert sorted(r.rcpt_to[0] for r in sink.received) == ["<a1@example.com>", "<a2@example.com>"]
    assert dict(Message.objects.values_list("user__username", "email_status")) == {
        "a1": "digested", "refused": "failed", "a2": "digested"}


def test_a_project_overrides_the_digest_templates(alice, mailoutbox, tmp_path, settings):
    folder = tmp_path / "monitio" / "email"
    folder.mkdir(parents=True)
    (folder / "digest.txt").write_text("{% for m in messages %}[{{ m.message }}] {{ m.link }}\n{% endfor %}")
    (folder / "digest_subject.txt").write_text("Your news, {{ recipient.get_username }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    daily_user(alice)
    with clock.frozen(NOON):
        message_id = deliver(alice, "own template")
    assert run(EIGHT) == 1
    (mail,) = mailoutbox
    assert mail.subject == "Your news, alice"
    assert mail.body == f"[own template] http://testserver/messages/{message_id}/\n"
    assert "own template" in mail.alternatives[0][0]  # the bundled HTML, not overridden
