"""When each delivered message's e-mail goes out: the worker applies the policies.

For a batch the worker stores (:func:`monitio.delivery.deliver`), :func:`load` reads
the recipients' policies and e-mail settings (two queries, none without e-mail) and
:meth:`Plan.apply` marks each row whose e-mail is pending:

* ``immediate``: sent by the ``send_email`` task at once; in quiet hours it gets
  ``email_due_at`` = their end instead;
* ``unread_after:N``: ``email_due_at`` = arrival + N minutes (after quiet hours) and
  ``email_if_unread``: when due it is sent only if still unread, else ``skipped``;
* a digest: status ``digest`` and ``email_due_at`` = the end of the user's current
  window, sent by :mod:`monitio.digests`.

Delays never become task countdowns (a countdown longer than the broker's visibility
timeout would be handed out twice): ``monitio_tasks.send_due_emails``, run by beat,
queues what is due (:func:`due`). A message stored already read (its in-app channel
is off) is e-mailed as ``immediate``: there is nothing its recipient could read first.
A policy changed later applies to messages that arrive later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from . import email_policy, email_schedule, email_settings, preferences
from .models import EmailChoice, EmailSettings, Message

PENDING = Message.EmailStatus.PENDING


class Plan:
    """The policies and e-mail settings of a batch's recipients."""

    def __init__(self, choices: dict[tuple[str, str], str], users: dict[str, EmailSettings],
                 zones: dict[str, Any]) -> None:
        self._choices = choices
        self._users = users
        self._zones = zones

    def apply(self, rows: Iterable[Message], now: datetime) -> None:
        """Mark unsaved ``rows`` with the status and due time their policy gives."""
        for row in rows:
            if row.email_status != PENDING:
                continue
            uid = str(row.user_id)
            kind = preferences.delivered_kind(row.kind)
            policy = email_settings.decide(kind, self._choices.get((uid, kind.key)))
            own = self._users.get(uid)
            start, end = (own.quiet_start, own.quiet_end) if own else (None, None)
            zone = self._zones[uid]
            if row.read or policy.mode == email_policy.IMMEDIATE:
                if email_schedule.quiet(now, start, end, zone):
                    row.email_due_at = email_schedule.after_quiet(now, start, end, zone)
            elif policy.mode == email_policy.UNREAD_AFTER:
                due = max(now, row.created + timedelta(minutes=policy.minutes))
                row.email_due_at = email_schedule.after_quiet(due, start, end, zone)
                row.email_if_unread = True
            elif policy.digest:
                row.email_status = Message.EmailStatus.DIGEST
                row.email_due_at = email_schedule.digest_due(policy, now, zone)


def load(rows: Iterable[Message]) -> Plan:
    """The plan for ``rows``: no query when none has a pending e-mail."""
    pending = [row for row in rows if row.email_status == PENDING]
    users = {row.user_id for row in pending}
    if not users:
        return Plan({}, {}, {})
    kinds_asked = {row.kind for row in pending}
    choices = EmailChoice.objects.filter(user_id__in=users, kind__in=kinds_asked).values_list(
        "user_id", "kind", "policy"
    )
    own = {str(s.user_id): s for s in EmailSettings.objects.filter(user_id__in=users)}
    zones = email_settings.zones(users, {uid: s.time_zone for uid, s in own.items() if s.time_zone})
    return Plan({(str(u), k): p for u, k, p in choices}, own, zones)


def due(now: datetime, limit: int = 1000) -> list[str]:
    """The ids of up to ``limit`` delayed e-mails due at ``now``, oldest first, after
    marking ``skipped`` those due only if unread that were read meanwhile."""
    waiting = Message.objects.filter(email_status=PENDING, email_due_at__lte=now)
    waiting.filter(email_if_unread=True, read=True).update(
        email_status=Message.EmailStatus.SKIPPED, email_due_at=None
    )
    return [str(pk) for pk in waiting.order_by("email_due_at").values_list("pk", flat=True)[:limit]]


def queued(message_ids: list[str]) -> None:
    """Record that the e-mails ``message_ids`` were handed to ``send_email`` tasks
    (called after queueing them: a sweep that dies in between queues them again, and
    ``send_email`` sends each at most once)."""
    Message.objects.filter(pk__in=message_ids).update(email_due_at=None)
