"""Database models: the stored message, the outbox of undelivered work, and users'
preferences per kind and channel."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.contrib.messages.utils import get_level_tags
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from . import constants, email_policy, i18n, kinds
from .exceptions import UnknownKind

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
        OPTED_OUT = "optout", _("turned off by the recipient")
        DIGEST = "digest", _("waiting for a digest")
        DIGESTED = "digested", _("sent in a digest")
        SKIPPED = "skipped", _("read before it was due")

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
    kind = models.CharField(
        _("kind"), max_length=kinds.KEY_MAX_LENGTH, default=kinds.DEFAULT_KIND, editable=False
    )
    # Live grouping (see monitio.grouping): while unread, the row with a group_key
    # absorbs the user's later messages with that key.
    group_key = models.CharField(
        _("group key"), max_length=constants.GROUP_KEY_MAX_LENGTH, null=True, blank=True, editable=False
    )
    group_count = models.PositiveIntegerField(_("messages in the group"), default=1, editable=False)
    group_senders = models.TextField(
        _("latest senders"), blank=True, default="", editable=False
    )
    group_ids = models.TextField(blank=True, default="", editable=False)
    # When a delayed e-mail (quiet hours, unread_after) or a digest is due; see
    # monitio.email_delivery.
    email_due_at = models.DateTimeField(_("e-mail due at"), null=True, blank=True, editable=False)
    email_if_unread = models.BooleanField(_("e-mail only if unread"), default=False, editable=False)
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
            # The rows no task has announced yet (a few, while tasks run): what
            # monitio.sweep looks for, without reading the table.
            models.Index(
                fields=["modified"],
                name="monitio_unpublished",
                condition=Q(published_at__isnull=True),
            ),
            # E-mails and digests waiting for their time (monitio.email_delivery).
            models.Index(
                fields=["email_due_at", "email_status"],
                name="monitio_email_due",
                condition=Q(email_due_at__isnull=False),
            ),
        ]
        constraints = [
            # One open group per user and key: concurrent workers race in the database.
            models.UniqueConstraint(
                fields=["user", "group_key"],
                name="monitio_one_unread_group",
                condition=Q(read=False, group_key__isnull=False),
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
            # Tasks queued before kinds existed have none.
            kind=payload.get("kind", kinds.DEFAULT_KIND),
            group_key=payload.get("group_key"),
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
    def senders(self) -> list[str]:
        """The group's latest distinct senders, newest first (at most three)."""
        names: list[str] = []
        # Entries end with a newline; a last one cut by the length cap is dropped.
        for name in self.group_senders.split("\n")[:-1]:
            if name and name not in names:
                names.append(name)
        return names[:3]

    @property
    def group_others(self) -> int:
        """Messages in the group beyond one per sender named (:attr:`senders`)."""
        return max(self.group_count - len(self.senders), 0)

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


class Preference(models.Model):
    """A user's choice for one kind of message on one channel (see :mod:`monitio.preferences`).

    Only choices a user made are stored; without a row the kind's default applies, so
    a site that changes a default changes it for everyone who did not choose.
    """

    class Channel(models.TextChoices):
        INBOX = kinds.INBOX, _("in the app")
        EMAIL = kinds.EMAIL, _("by e-mail")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="monitio_preferences",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=kinds.KEY_MAX_LENGTH)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    enabled = models.BooleanField(_("enabled"))
    modified = models.DateTimeField(_("modified"), auto_now=True)

    class Meta:
        verbose_name = _("preference")
        verbose_name_plural = _("preferences")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "channel"], name="monitio_preference_unique"
            ),
        ]

    def clean(self) -> None:
        """Refuse, in the admin, a kind that is not registered or a mandatory channel."""
        try:
            kind = kinds.get_kind(self.kind)
        except UnknownKind as exc:
            raise ValidationError({"kind": str(exc)}) from None
        if not kind.switchable(self.channel):
            raise ValidationError({"channel": _("This kind is mandatory on this channel.")})

    def __str__(self) -> str:
        state = _("on") if self.enabled else _("off")
        return f"{self.kind} / {self.channel}: {state}"


class EmailSettings(models.Model):
    """A user's time zone and quiet hours, which their e-mail policies follow
    (see :mod:`monitio.email_delivery`); no row: the site's defaults, no quiet hours."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="monitio_email_settings",
        verbose_name=_("user"),
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, default="",
        help_text=_("An IANA name such as Europe/Warsaw; empty: the site's default."),
    )
    quiet_start = models.PositiveSmallIntegerField(_("quiet hours start (local hour)"), null=True, blank=True)
    quiet_end = models.PositiveSmallIntegerField(_("quiet hours end (local hour)"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail settings")
        verbose_name_plural = _("e-mail settings")

    def clean(self) -> None:
        """Refuse, in the admin, an unknown time zone or half-set quiet hours."""
        try:
            if self.time_zone:
                email_policy.check_time_zone(self.time_zone)
        except email_policy.InvalidPolicy as exc:
            raise ValidationError({"time_zone": str(exc)}) from None
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValidationError(_("Set both ends of the quiet hours, or neither."))
        for field in ("quiet_start", "quiet_end"):
            if getattr(self, field) is not None:
                try:
                    email_policy.check_hour(getattr(self, field))
                except email_policy.InvalidPolicy as exc:
                    raise ValidationError({field: str(exc)}) from None

    def __str__(self) -> str:
        return f"{self.user_id}: {self.time_zone or '-'}"


class EmailChoice(models.Model):
    """A user's e-mail policy for one kind (see :mod:`monitio.email_policy`); no row:
    the kind's default. "off" is not stored here but as the kind's e-mail
    :class:`Preference`, which the unsubscribe link also turns off."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="monitio_email_choices",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=kinds.KEY_MAX_LENGTH)
    policy = models.CharField(_("e-mail policy"), max_length=32)
    modified = models.DateTimeField(_("modified"), auto_now=True)

    class Meta:
        verbose_name = _("e-mail policy")
        verbose_name_plural = _("e-mail policies")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="monitio_email_choice_unique"),
        ]

    def clean(self) -> None:
        """Refuse, in the admin, an unknown kind or policy, or one its kind forbids."""
        try:
            kinds.check_policy(self.kind, self.policy)
        except email_policy.InvalidPolicy as exc:
            raise ValidationError({"policy": str(exc)}) from None
        except UnknownKind as exc:
            raise ValidationError({"kind": str(exc)}) from None

    def __str__(self) -> str:
        return f"{self.kind}: {self.policy}"


class DigestRun(models.Model):
    """One digest to one user for one window, claimed before it is sent and marked
    after: the unique (user, window_end) makes it exactly one (see :mod:`monitio.digests`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="monitio_digests",
        verbose_name=_("user"),
    )
    window_end = models.DateTimeField(_("window end (when it is due)"))
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    claimed_by = models.CharField(max_length=64, blank=True, default="", editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    messages = models.PositiveIntegerField(_("messages listed"), default=0)

    class Meta:
        verbose_name = _("digest")
        verbose_name_plural = _("digests")
        constraints = [
            models.UniqueConstraint(fields=["user", "window_end"], name="monitio_digest_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.window_end:%Y-%m-%d %H:%M}Z"
