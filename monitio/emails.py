"""Render a message as e-mail and send it at most once.

Templates (override them in your project): ``monitio/email/subject.txt``,
``monitio/email/body.txt`` and ``monitio/email/body.html``, with ``message``,
``recipient``, ``sender``, ``link`` (the message's absolute URL, or ``None``
without ``MONITIO["SITE_URL"]``) and ``unsubscribe_url`` (``None`` when there is
none, see :mod:`monitio.unsubscribe`) in the context. They are rendered in the
recipient's language (:func:`monitio.i18n.user_language`). Mail goes from
``EMAIL_FROM`` (or ``DEFAULT_FROM_EMAIL``), never from the sending user's address;
the sender's address, if any, becomes ``Reply-To``.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta

from django.conf import settings as django_settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

from . import i18n, kinds, preferences, unsubscribe
from .conf import settings
from .exceptions import MonitioError
from .models import Message

#: How long one attempt may hold a message before another may take it over.
try:  # Django 6.1+: the configured mailers (MAILERS), which deprecate get_connection()
    from django.core.mail import mailers
except ImportError:
    mailers = None

CLAIM_LEASE = timedelta(minutes=2)

#: What ``str.splitlines()`` breaks lines at. Python's e-mail headers (Django 6.0+
#: builds messages with them) refuse every one of these, not only CR and LF.
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")

#: Errors worth another attempt; anything else fails the message for good.
TRANSIENT_ERRORS = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError,
                    smtplib.SMTPHeloError, smtplib.SMTPDataError, OSError)


class EmailRefused(MonitioError):
    """The message cannot be e-mailed as it stands (no address, a line break in a header)."""


class EmailBusy(MonitioError):
    """Another attempt holds this message's e-mail; try again after its lease."""


def send(message_id: str, attempt: str) -> str:
    """Send the e-mail of message ``message_id`` unless it was sent; return its status.

    ``attempt`` identifies the task (its id): a task redelivered after its worker
    died takes its own claim back at once; another task waits for the lease.
    """
    now = timezone.now()
    claimed = (
        Message.objects.filter(pk=message_id, email_status=Message.EmailStatus.PENDING)
        .filter(
            Q(email_claimed_at__isnull=True)
            | Q(email_claimed_at__lt=now - CLAIM_LEASE)
            | Q(email_claimed_by=attempt)
        )
        .update(email_claimed_at=now, email_claimed_by=attempt)
    )
    if not claimed:
        status = Message.objects.filter(pk=message_id).values_list("email_status", flat=True).first()
        if status is None:
            return "gone"
        if status != Message.EmailStatus.PENDING:
            return status
        raise EmailBusy(f"e-mail of message {message_id} is being sent by another attempt")
    message = Message.objects.select_related("user", "from_user").get(pk=message_id)
    # Checked again here: the user may have turned this kind's e-mail off (say, with
    # the unsubscribe link of an earlier one) since the worker queued this e-mail.
    if not preferences.allows(message.user_id, message.kind, kinds.EMAIL):
        Message.objects.filter(pk=message_id).update(
            email_status=Message.EmailStatus.OPTED_OUT, email_claimed_at=None
        )
        return Message.EmailStatus.OPTED_OUT
    if message.email_if_unread and message.read:  # unread_after: read before it was due
        Message.objects.filter(pk=message_id).update(
            email_status=Message.EmailStatus.SKIPPED, email_claimed_at=None
        )
        return Message.EmailStatus.SKIPPED
    try:
        build(message).send()
    except EmailRefused as exc:
        mark_failed(message_id, exc)
        raise
    except Exception as exc:
        Message.objects.filter(pk=message_id).update(email_claimed_at=None, email_error=repr(exc)[:1000])
        raise
    Message.objects.filter(pk=message_id).update(
        email_status=Message.EmailStatus.SENT, email_sent_at=timezone.now(), email_error=""
    )
    return Message.EmailStatus.SENT


def mark_failed(message_id: str, exc: BaseException) -> None:
    """Record that the e-mail will not be sent (shown in the admin)."""
    Message.objects.filter(pk=message_id).exclude(email_status=Message.EmailStatus.SENT).update(
        email_status=Message.EmailStatus.FAILED, email_claimed_at=None, email_error=repr(exc)[:1000]
    )


def build(message: Message) -> EmailMultiAlternatives:
    """Render ``message`` into an e-mail, in its recipient's language; raise
    :class:`EmailRefused` if it can't be sent."""
    with translation.override(i18n.user_language(message.user)):
        return _build(message)


def link(message: Message) -> str | None:
    """The message's page as an absolute URL: ``SITE_URL`` and the detail view's path
    (``None`` without ``SITE_URL`` or ``monitio.urls`` in the URLconf)."""
    if not settings.SITE_URL:
        return None
    try:
        path = reverse("monitio:message_detail", args=[message.pk])
    except NoReverseMatch:
        return None
    return settings.SITE_URL.rstrip("/") + path


def _build(message: Message) -> EmailMultiAlternatives:
    recipient = message.user
    address = recipient.email
    if not address:
        raise EmailRefused(f"user {recipient.pk} has no e-mail address")
    sender = message.from_user
    reply_to = [sender.email] if sender is not None and sender.email else []
    for value in (message.subject, address, *reply_to):
        if has_line_break(value):
            raise EmailRefused("a line break in an e-mail header is refused")
    unsubscribe_url = unsubscribe.link(recipient.pk, message.kind)
    context = {"message": message, "recipient": recipient, "sender": sender,
               "link": link(message), "unsubscribe_url": unsubscribe_url}
    return compose(
        ("monitio/email/subject.txt", "monitio/email/body.txt", "monitio/email/body.html"),
        context, address, headers=unsubscribe.headers(unsubscribe_url), reply_to=reply_to,
    )


def compose(
    templates: tuple[str, str, str],
    context: dict,
    address: str,
    headers: dict[str, str],
    reply_to: list[str] | None = None,
) -> EmailMultiAlternatives:
    """An e-mail to ``address`` from the (subject, text, HTML) ``templates``: the one
    place that checks the headers, so a message's e-mail and a digest refuse alike.

    Raise :class:`EmailRefused` for a line break in the address or the rendered subject.
    """
    if has_line_break(address):
        raise EmailRefused("a line break in an e-mail header is refused")
    subject_template, text_template, html_template = templates
    subject = settings.EMAIL_SUBJECT_PREFIX + render_to_string(subject_template, context).strip()
    if has_line_break(subject):
        raise EmailRefused("the rendered subject has a line break")
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(text_template, context),
        from_email=settings.EMAIL_FROM or django_settings.DEFAULT_FROM_EMAIL,
        to=[address],
        reply_to=reply_to or [],
        headers=headers,
    )
    email.attach_alternative(render_to_string(html_template, context), "text/html")
    return email


def has_line_break(value: str) -> bool:
    return not LINE_BREAKS.isdisjoint(value)


def default_mailer() -> BaseEmailBackend:
    """A connection to the site's default mailer, to send many e-mails over one.

    ``mailers.default`` where Django has mailers (6.1+, whose ``get_connection()`` is
    deprecated), ``get_connection()`` before.
    """
    return mailers.default if mailers is not None else get_connection()
