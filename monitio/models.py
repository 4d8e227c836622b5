"""Database models: the stored message, and the outbox of undelivered work."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.contrib.messages.utils import get_level_tags
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from . import constants, i18n

LEVEL_CHOICES = [
    (10, _("Debug")),
    (20, _("Info")),
    (25, _("Success")),
    (30, _("Warning")),
    (40, _("Error")),
    (constants.DEBUG, _("Persistent debug")),
    (constants.INFO, _("Persistent info")),
    (constants.SUCCESS, _("Persistent success")),
    (constants.WARNING, _("Persistent warning")),
    (constants.ERROR, _("Persistent error")),
]


class MessageQuerySet(models.QuerySet):
    def for_user(self, user) -> MessageQuerySet:
        return self.filter(user_id=user.pk)

    def unexpired(self, now=None) -> MessageQuerySet:
        now = now or timezone.now()
        return self.filter(Q(expires__isnull=True) | Q(expires__gt=now))

    def persistent(self) -> MessageQuerySet:
        return self.filter(level__in=constants.PERSISTENT_MESSAGE_LEVELS)

    def nonpersistent(self) -> MessageQuerySet:
        return self.exclude(level__in=constants.PERSISTENT_MESSAGE_LEVELS)

    def unread(self) -> MessageQuerySet:
        return self.filter(read=False)

    def visible_to(self, user) -> MessageQuerySet:
        """Messages ``user`` may see and act on: their own, not expired."""
        return self.for_user(user).unexpired()


class Message(models.Model):
    """A message to one user. Its UUID is chosen by the caller before the row exists."""

    class EmailStatus(models.TextChoices):
        NONE = "", _("not requested")
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="monitio_messages",
        verbose_name=_("recipient"),
    )
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="monitio_sent_messages",
        verbose_name=_("sender"),
    )
    level = models.IntegerField(_("level"), choices=LEVEL_CHOICES)
    subject = models.CharField(_("subject"), max_length=255, blank=True, default="")
    message = models.TextField(_("message"))
    safe = models.BooleanField(
        _("HTML marked safe by the sender"), default=False, editable=False
    )
    extra_tags = models.CharField(_("extra tags"), max_length=128, blank=True, default="")
    created = models.DateTimeField(_("created"), default=timezone.now)
    modified = models.DateTimeField(_("modified"), auto_now=True)
    read = models.BooleanField(_("read"), default=False)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    expires = models.DateTimeField(_("expires"), null=True, blank=True)
    close_timeout = models.PositiveIntegerField(
        _("close timeout (ms)"), null=True, blank=True
    )
    url = models.CharField(
        _("URL that marks it read"),
        max_length=1024,
        null=True,
        blank=True,
        help_text=_("A path on this site; visiting it marks the message read."),
    )
    email = models.BooleanField(_("e-mail requested"), default=False)
    email_status = models.CharField(
        _("e-mail status"), max_length=8, choices=EmailStatus.choices, blank=True, default=""
    )
    email_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    email_claimed_by = models.CharField(max_length=64, blank=True, default="", editable=False)
    email_sent_at = models.DateTimeField(_("e-mail sent at"), null=True, blank=True)
    email_error = models.TextField(_("e-mail error"), blank=True, default="")
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    params = models.JSONField(
        _("parameters"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Set for a translatable message: its text and subject are msgids."),
    )

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(fields=["user", "read", "-created"], name="monitio_user_read_created"),
            models.Index(
                fields=["expires"], name="monitio_expires", condition=Q(expires__isnull=False)
            ),
            models.Index(
                fields=["user", "url"], name="monitio_unread_url", condition=Q(read=False)
            ),
            # Answers the unread count (monitio.delivery.unread_counts) from the index
            # alone. "read" is a column too: SQLite (3.40) counts a column named in the
            # condition as one the query needs, and would read every row otherwise.
            models.Index(
                fields=["user", "level", "expires", "read"],
                name="monitio_unread_count",
                condition=Q(read=False),
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @classmethod
    def from_payload(cls, payload: dict) -> Message:
        """Build an unsaved row from a task payload (see :mod:`monitio.payloads`)."""
        text, read = payload["message"], payload["read"]
        return cls(
            id=uuid.UUID(payload["id"]),
            user_id=payload["user"],
            from_user_id=payload["from_user"],
            level=payload["level"],
            subject=payload["subject"],
            message=mark_safe(text) if payload["safe"] else text,
            safe=payload["safe"],
            extra_tags=payload["extra_tags"],
            created=datetime.fromisoformat(payload["created"]),
            expires=datetime.fromisoformat(payload["expires"]) if payload["expires"] else None,
            close_timeout=payload["close_timeout"],
            url=payload["url"],
            read=read,
            read_at=timezone.now() if read else None,
            email=payload["email"],
            email_status=cls.EmailStatus.PENDING if payload["email"] else "",
            params=payload.get("params"),
        )

    @property
    def text(self) -> str:
        """The body, as ``SafeString`` when the sender marked it safe; a translatable
        one in the active language (:func:`monitio.i18n.render`)."""
        if self.params is not None:
            return i18n.render(self.message, self.params)
        return mark_safe(self.message) if self.safe else self.message

    @property
    def subject_text(self) -> str:
        """The subject; a translatable one in the active language."""
        if self.params is not None:
            return i18n.render(self.subject, self.params)
        return self.subject

    def is_persistent(self) -> bool:
        return constants.is_persistent(self.level)

    is_persistent.boolean = True  # type: ignore[attr-defined]

    @property
    def level_tag(self) -> str:
        return level_tags().get(self.level, "")

    @property
    def tags(self) -> str:
        """Space-separated tags, as ``django.contrib.messages`` gives them."""
        return " ".join(tag for tag in (self.extra_tags, self.level_tag) if tag)


#: The original project's name for the model.
Monit = Message


def level_tags() -> dict[int, str]:
    """Tags by level: monitio's own, under Django's (its own and ``MESSAGE_TAGS``).

    Django's ``DEFAULT_TAGS`` is left as it is, so a site's ``MESSAGE_TAGS`` wins for
    every level and a stock message outside monitio is tagged exactly as by Django.
    """
    return {**constants.DEFAULT_TAGS, **get_level_tags()}


class PendingTask(models.Model):
    """A task a request could not hand to the broker; ``drain_outbox`` sends it later."""

    created = models.DateTimeField(default=timezone.now, db_index=True)
    task = models.CharField(max_length=200)
    args = models.JSONField()
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created"]
        verbose_name = _("pending task")
        verbose_name_plural = _("pending tasks")
