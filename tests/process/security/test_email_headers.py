"""S12: 50 subjects and 50 recipient addresses built to inject e-mail headers
(CR, LF, CRLF, header folding, NEL, LINE SEPARATOR, encoded words): 0 extra
headers in any raw message sent, and every refused e-mail is marked ``failed``
without a retry loop.

A real prefork worker sends through Django's SMTP backend to an SMTP sink
(:mod:`.smtpsink`) that records the envelope and the raw message. An e-mail may be
refused (Django raises ``BadHeaderError`` on a line break in a header, or
``ValueError`` on an address it cannot parse) or sent with the text folded into its
own header. Either way no header may appear that the message would not have had
anyway, and each message goes to exactly one envelope recipient and one ``To``
address, never to ``evil.example``.

Printed::

    S12 subjects=50 recipients=50 sent=… refused_failed=… extra_headers=0
        retries_on_refusal=0
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import itertools
import re

from django.contrib.auth import get_user_model
from django.db import transaction

import monitio
from monitio.models import Message
from tests import procs
from tests.smtpsink import SmtpSink
from tests.waiting import wait_until

#: Headers a monitio e-mail may carry (Django's EmailMessage, plus the bodies).
ALLOWED = {
    "content-type",
    "mime-version",
    "content-transfer-encoding",
    "subject",
    "from",
    "to",
    "date",
    "message-id",
    "reply-to",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "auto-submitted",
    "x-auto-response-suppress",
    "precedence",
}
BREAKS = [
    "\r\n",
    "\n",
    "\r",
    "\r\n ",
    "\r\n\t",
    "\n ",
    "\x85",
    "\u2028",
    "\u2029",
    "%0d%0a",
    "\\r\\n",
    "\x0b",
    "\x0c",
    "\r\r\n",
    "\n\r",
]
INJECTED = [
    "Bcc: victim@evil.example",
    "Cc: victim@evil.example",
    "X-Injected: yes",
    "To: victim@evil.example",
    "Content-Type: text/html\r\n\r\n<script>x</script>",
]


def _subjects() -> list[str]:
    combos = itertools.product(BREAKS, INJECTED)
    subjects = [f"Hello{br}{inj}" for br, inj in itertools.islice(combos, 46)]
    subjects += [
        "=?utf-8?q?Hi=0D=0ABcc=3A_victim=40evil.example?=",
        "Hi\u2028Bcc: victim@evil.example",  # NUL is refused in the caller (below)
        "Hi" + "\r\n" * 3 + "Bcc: a@evil.example",
        "Bcc: victim@evil.example",
    ]
    return subjects


def _recipients() -> list[str]:
    combos = itertools.product(BREAKS, INJECTED)
    addresses = [
        f"user{n}@example.com{br}{inj}"
        for n, (br, inj) in enumerate(itertools.islice(combos, 46))
    ]
    addresses += [
        "user@example.com, victim@evil.example",
        "user@example.com;victim@evil.example",
        '"user\r\nBcc: victim@evil.example" <user@example.com>',
        "=?utf-8?q?user=0D=0ABcc=3A_victim=40evil.example?= <user@example.com>",
    ]
    return addresses


def _extra_headers(received) -> int:
    """Count what should not be there: unknown or doubled headers, extra or foreign
    recipients (in the envelope or in ``To``)."""
    parsed = email.message_from_string(received.data, policy=email.policy.compat32)
    names = [n.lower() for n in parsed]  # header names
    extra = sum(n not in ALLOWED for n in names)
    extra += sum(names.count(n) - 1 for n in ("to", "subject", "from"))
    to = [addr for _, addr in email.utils.getaddresses(parsed.get_all("to", []))]
    extra += (len(to) != 1) + (len(received.rcpt_to) != 1)
    extra += sum("evil.example" in a for a in [*to, *received.rcpt_to])
    return extra


def test_header_injection_in_subjects_and_recipients(
    transactional_db, redis_client, broker_client, tmp_path
):
    sink = SmtpSink().start()
    worker = procs.celery_worker(
        tmp_path / "worker.log",
        DJANGO_SETTINGS_MODULE="tests.smtp_settings",
        MONITIO_TEST_SMTP_PORT=str(sink.port),
    )
    try:
        User = get_user_model()
        plain = User.objects.create_user("plain", "plain@example.com")
        targets = [
            User.objects.create_user(f"t{n}", address)
            for n, address in enumerate(_recipients())
        ]
        subjects = _subjects()
        with transaction.atomic():
            ids = [
                monitio.create_message(
                    plain, monitio.INFO, "body", subject=s, email=True
                )
                for s in subjects
            ]
            ids += [
                monitio.create_message(
                    t, monitio.INFO, "body", subject="plain", email=True
                )
                for t in targets
            ]
        done = wait_until(
            lambda: (
                (
                    rows := list(
                        Message.objects.filter(pk__in=ids).exclude(
                            email_status__in=["", "pending", "sending"]
                        )
                    )
                )
                and len(rows) == len(ids)
                and rows
            ),
            timeout=120,
            message="every e-mail sent or failed",
        )
    finally:
        procs.stop(worker)
        sink.stop()
    statuses = {str(r.pk): r.email_status for r in done}
    raw = sink.received
    extra = sum(_extra_headers(r) for r in raw)
    log = (tmp_path / "worker.log").read_text(errors="replace")
    retries = len(re.findall(r"send_email\[[^\]]+\] retry", log, re.IGNORECASE))
    errors = [r.email_error for r in done if r.email_status == "failed"]
    line_breaks = sum("line break" in e for e in errors)
    bad_address = sum("Invalid address" in e for e in errors)
    sent = sum(s == "sent" for s in statuses.values())
    failed = sum(s == "failed" for s in statuses.values())
    print(
        f"\nS12 subjects={len(subjects)} recipients={len(targets)} sent={sent} "
        f"refused_failed={failed} (line_break={line_breaks} invalid_address={bad_address}) "
        f"raw_messages={len(raw)} extra_headers={extra} "
        f"retries_on_refusal={retries}"
    )
    assert len(subjects) == 50 and len(targets) == 50
    assert sent + failed == 100 and len(raw) == sent
    assert line_breaks + bad_address == failed, (
        "refused for what they are, not by accident"
    )
    assert extra == 0 and retries == 0
