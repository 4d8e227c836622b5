"""A real ``celery worker`` process renders a translatable message's e-mail in the
recipient's language, with an absolute link back to the message, and its live event
too (read back from the real Redis)."""

from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy

import monitio
from monitio import wire
from monitio.models import Message
from tests import procs
from tests.waiting import wait_until


def _mails(folder: Path) -> list[email.message.EmailMessage]:
    """The e-mails Django's file backend wrote: one per file here (one send each)."""
    found = []
    for path in sorted(folder.glob("*.log")):
        raw = path.read_bytes().rsplit(b"\n" + b"-" * 79, 1)[0]
        found.append(email.message_from_bytes(raw, policy=policy.default))
    return found


def test_the_worker_e_mails_in_the_recipients_language_with_a_link(
    transactional_db, redis_client, broker_client, tmp_path
):
    ola = get_user_model().objects.create_user("ola", "ola@example.com", "pw")
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    worker = procs.celery_worker(
        tmp_path / "worker.log",
        DJANGO_SETTINGS_MODULE="tests.i18n_settings",
        MONITIO_TEST_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        MONITIO_TEST_EMAIL_DIR=str(mail_dir),
    )
    try:
        with translation.override("en"), transaction.atomic():
            message_id = monitio.create_message(
                ola, monitio.INFO, gettext_lazy("%(name)s commented on %(title)s"),
                subject=gettext_lazy("New comment"), params={"name": "Ana", "title": "<Tatry>"},
                email=True,
            )
        # The file backend creates its file before it has written the whole message:
        # wait for the last part, the HTML alternative.
        wait_until(lambda: any(m.get_body(preferencelist=("html",)) is not None
                               for m in _mails(mail_dir)),
                   timeout=60, message="the e-mail was not sent")
    finally:
        procs.stop(worker)
    [sent] = _mails(mail_dir)
    link = f"https://app.example.com{reverse('monitio:message_detail', args=[message_id])}"
    text = sent.get_body(preferencelist=("plain",)).get_content()
    html = sent.get_body(preferencelist=("html",)).get_content()
    print(f"I18N email subject={sent['subject']!r} link={link}")
    assert sent["subject"] == "Nowy komentarz"
    assert "Ana skomentowała wpis <Tatry>" in text
    assert f"Zobacz ją na stronie: {link}" in text
    assert "Ana skomentowała wpis &lt;Tatry&gt;" in html and f'href="{link}"' in html
    row = Message.objects.get(pk=message_id)
    assert row.message == "%(name)s commented on %(title)s" and row.email_status == "sent"
    [(_, fields)] = redis_client.xrange(wire.user_stream_key("monitio-test", ola.pk))
    assert json.loads(fields["d"])["message"] == "Ana skomentowała wpis <Tatry>"
