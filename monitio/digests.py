"""Digests: one e-mail per user and window listing the messages that waited for it.

A message whose policy is a digest is stored with status ``digest`` and
``email_due_at`` = the end of its window (:mod:`monitio.email_delivery`), so a
window is identified by (user, window end) and windows never overlap. Beat runs
``monitio_tasks.send_digests``, which finds the windows that ended
(:func:`due_windows`) and hands them, in batches, to ``send_digest_batch`` tasks
(:func:`send`).

Exactly once per user and window, as :mod:`monitio.emails` does it for one message:
a :class:`~monitio.models.DigestRun` row, unique by (user, window end), is claimed
before sending (by the task's id, with a lease) and marked sent, in the same
transaction as its messages' ``digested`` status, right after the SMTP server
accepted the e-mail. A second run of the same window (beat twice, a redelivered
task, two workers) finds the row sent, or held, and sends nothing; a task
redelivered after its worker was killed takes its own claims back at once and sends
what was not marked. Only a kill between the server's acceptance and that commit
can send one digest twice; its ``Message-ID`` is then the same, derived from user
and window.

Each message is listed once (its status leaves ``digest`` in that transaction);
messages read or expired meanwhile are marked ``skipped``, and kinds turned off
meanwhile ``optout``. Templates: ``monitio/email/digest_subject.txt``,
``digest.txt`` and ``digest.html``, with ``recipient``, ``messages`` (each with
``link``, its absolute URL), ``sections`` (per kind: ``kind``, ``messages``,
``unsubscribe_url``), ``window_end`` and ``unsubscribe_url`` (all the digest's
kinds at once, also the ``List-Unsubscribe`` header).
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import translation

from . import clock, i18n, kinds, preferences, unsubscribe
from .conf import settings
from .emails import CLAIM_LEASE, EmailRefused, compose, default_mailer
from .models import DigestRun, Message

logger = logging.getLogger("monitio")

DIGEST = Message.EmailStatus.DIGEST
#: Windows per ``send_digest_batch`` task: a batch finishes within seconds, far
#: below the broker's visibility timeout.
BATCH = 200

Window = tuple[Any, datetime]


def due_windows(now: datetime | None = None) -> list[Window]:
    """Every (user id, window end) whose window ended by ``now`` with messages waiting."""
    now = now or clock.now()
    found = (
        Message.objects.filter(email_status=DIGEST, email_due_at__lte=now)
        .values_list("user_id", "email_due_at")
        .order_by("email_due_at", "user_id")
        .distinct()
    )
    return list(found)


def send(windows: Iterable[Window], attempt: str, now: datetime | None = None) -> int:
    """Send the digests of ``windows`` this attempt can claim; return how many were sent.

    A transient SMTP or database error releases this attempt's unsent claims and is
    raised (the task retries); the digests sent before it stay marked. A digest that
    cannot be sent to its user (no address, refused by the server) marks its
    messages ``failed``, logged at ERROR, and the others go on.
    """
    now = now or clock.now()
    runs = _claim(list(windows), attempt, now)
    if not runs:
        return 0
    users = get_user_model().objects.in_bulk([r.user_id for r in runs])
    waiting = _waiting(runs)
    choices = preferences.load(m for rows in waiting.values() for m in rows)
    sent = 0
    connection = default_mailer()
    try:
        with connection:
            for run in runs:
                rows = waiting.get((str(run.user_id), run.window_end), [])
                sent += _send_one(run, users.get(run.user_id), rows, choices, attempt, now, connection)
    except Exception:
        DigestRun.objects.filter(pk__in=[r.pk for r in runs], sent_at__isnull=True, claimed_by=attempt).update(
            claimed_at=None
        )
        raise
    return sent


def _claim(windows: list[Window], attempt: str, now: datetime) -> list[DigestRun]:
    """Create or take over the runs of ``windows``; return those this attempt holds.
    A window whose run was sent already keeps nothing waiting: what still waits for
    it (stored while it was being sent) moves to a window of its own, a second later."""
    if not windows:
        return []
    DigestRun.objects.bulk_create(
        [DigestRun(user_id=u, window_end=w, claimed_at=now, claimed_by=attempt) for u, w in windows],
        ignore_conflicts=True,
    )
    wanted = {(str(u), w) for u, w in windows}
    mine = Q(user_id__in={u for u, _ in windows}, window_end__in={w for _, w in windows})
    takeable = DigestRun.objects.filter(mine, sent_at__isnull=True).filter(
        Q(claimed_by=attempt) | Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE)
    )
    ids = [pk for pk, u, w in takeable.values_list("pk", "user_id", "window_end") if (str(u), w) in wanted]
    DigestRun.objects.filter(pk__in=ids, sent_at__isnull=True).filter(
        Q(claimed_by=attempt) | Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE)
    ).update(claimed_at=now, claimed_by=attempt)
    runs = [r for r in DigestRun.objects.filter(mine) if (str(r.user_id), r.window_end) in wanted]
    for run in runs:
        if run.sent_at is not None:
            late = Message.objects.filter(user_id=run.user_id, email_status=DIGEST, email_due_at=run.window_end)
            if late.update(email_due_at=run.window_end + timedelta(seconds=1)):
                logger.warning("Messages stored while user %s's digest was sent wait for the next one.",
                               run.user_id)
    return [r for r in runs if r.sent_at is None and r.claimed_by == attempt]


def _waiting(runs: list[DigestRun]) -> dict[tuple[str, datetime], list[Message]]:
    wanted = {(str(r.user_id), r.window_end) for r in runs}
    found: dict[tuple[str, datetime], list[Message]] = defaultdict(list)
    rows = Message.objects.filter(
        user_id__in={r.user_id for r in runs}, email_due_at__in={r.window_end for r in runs},
        email_status=DIGEST,
    ).select_related("from_user").order_by("created")
    for row in rows:
        if (str(row.user_id), row.email_due_at) in wanted:
            found[(str(row.user_id), row.email_due_at)].append(row)
    return found


def _send_one(run: DigestRun, user: Any, rows: list[Message], choices: preferences.Choices,
              attempt: str, now: datetime, connection: Any) -> int:
    listed, skipped, off = [], [], []
    for row in rows:
        if not choices.allows(row.user_id, row.kind, kinds.EMAIL):
            off.append(row)
        elif row.read or (row.expires is not None and row.expires <= now):
            skipped.append(row)
        else:
            listed.append(row)
    failed = ""
    if listed:
        try:
            connection.send_messages([build(user, listed, run.window_end)])
        except (EmailRefused, smtplib.SMTPRecipientsRefused) as exc:  # this user's only
            logger.error("Digest for user %s not sent: %s", run.user_id, exc)
            failed, listed = repr(exc)[:1000], []
    with transaction.atomic():
        marked = DigestRun.objects.filter(pk=run.pk, claimed_by=attempt, sent_at__isnull=True).update(
            sent_at=now, messages=len(listed)
        )
        status = Message.EmailStatus
        Message.objects.filter(pk__in=[m.pk for m in listed]).update(
            email_status=status.DIGESTED, email_sent_at=now, email_due_at=None)
        Message.objects.filter(pk__in=[m.pk for m in skipped]).update(
            email_status=status.SKIPPED, email_due_at=None)
        Message.objects.filter(pk__in=[m.pk for m in off]).update(
            email_status=status.OPTED_OUT, email_due_at=None)
        if failed:
            Message.objects.filter(pk__in=[m.pk for m in rows if m not in skipped + off]).update(
                email_status=status.FAILED, email_error=failed, email_due_at=None)
    if not marked:
        logger.warning("Digest for user %s (window %s) was marked by another attempt.", run.user_id, run.window_end)
    return 1 if listed else 0


def build(user: Any, rows: list[Message], window_end: datetime) -> EmailMultiAlternatives:
    """Render the digest of ``rows`` for ``user``, in the user's language; raise
    :class:`EmailRefused` if it cannot be sent (no address, a line break in a header)."""
    with translation.override(i18n.user_language(user)):
        return _build(user, rows, window_end)


def _build(user: Any, rows: list[Message], window_end: datetime) -> EmailMultiAlternatives:
    address = getattr(user, "email", "") if user is not None else ""
    if not address:
        raise EmailRefused(f"user {getattr(user, 'pk', '?')} has no e-mail address")
    base = (settings.SITE_URL or "").rstrip("/")
    by_kind: dict[str, list[Message]] = defaultdict(list)
    for row in rows:
        row.link = base + reverse("monitio:message_detail", args=[row.pk])
        by_kind[row.kind].append(row)
    sections = [
        {"kind": preferences.delivered_kind(key), "messages": found,
         "unsubscribe_url": unsubscribe.link(user.pk, key)}
        for key, found in by_kind.items()
    ]
    unsubscribe_url = unsubscribe.link_many(user.pk, list(by_kind))
    context = {"recipient": user, "messages": rows, "sections": sections, "window_end": window_end,
               "unsubscribe_url": unsubscribe_url}
    headers = unsubscribe.headers(unsubscribe_url)
    domain = urlsplit(base).hostname or "monitio.invalid"
    token = hashlib.sha256(f"{user.pk}|{window_end.isoformat()}".encode()).hexdigest()[:32]
    headers["Message-ID"] = f"<digest.{token}@{domain}>"
    return compose(
        ("monitio/email/digest_subject.txt", "monitio/email/digest.txt", "monitio/email/digest.html"),
        context, address, headers=headers,
    )
