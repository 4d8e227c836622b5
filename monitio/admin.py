"""Admin for stored messages and for the outbox of tasks not yet sent."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import state
from .models import (
    DigestRun,
    EmailChoice,
    EmailSettings,
    Message,
    PendingTask,
    Preference,
)


class _OwnedByTasks(admin.ModelAdmin):
    """Rows that monitio's tasks write: the admin shows them but adds or edits none."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "subject_or_text",
        "user",
        "from_user",
        "level",
        "read",
        "email_status",
        "created",
        "expires",
        "is_persistent",
    )
    list_filter = ("level", "kind", "read", "email_status", "created", "expires")
    list_select_related = ("user", "from_user")
    # Admin modules load after the app registry, so the user model is known here.
    search_fields = ("subject", "message", f"user__{get_user_model().USERNAME_FIELD}")
    date_hierarchy = "created"
    raw_id_fields = ("user", "from_user")
    readonly_fields = (
        "id",
        "safe",
        "created",
        "modified",
        "read_at",
        "email",
        "email_status",
        "email_sent_at",
        "email_error",
        "published_at",
        "kind",
    )
    actions = ("mark_read", "mark_unread")

    @admin.display(description=_("message"))
    def subject_or_text(self, obj: Message) -> str:
        text = obj.subject or obj.message
        return text if len(text) <= 80 else text[:79] + "…"

    def _change_state(
        self, request: HttpRequest, queryset: QuerySet, read: bool
    ) -> None:
        # Go through monitio.state, per recipient, so every user's open pages
        # hear about the change as they would had the user clicked.
        changed = 0
        by_user: dict = {}
        for message in queryset.select_related("user"):
            by_user.setdefault(message.user, []).append(message.pk)
        for user, ids in by_user.items():
            change = state.mark_read if read else state.mark_unread
            changed += change(user, ids)
        self.message_user(
            request,
            ngettext("%d message changed.", "%d messages changed.", changed) % changed,
        )

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple:
        # A stored message keeps its recipient: their open pages could not follow
        # a move. Send a new message instead.
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "user") if obj is not None else fields

    def save_model(self, request: HttpRequest, obj: Message, form, change: bool) -> None:
        """Save; a change of ``read`` goes through :mod:`monitio.state`, which
        publishes the read or unread event on commit. Other edits (the text, the
        subject, the level) are not live: open pages show them once reloaded."""
        if not (change and "read" in form.changed_data):
            super().save_model(request, obj, form, change)
            return
        read = obj.read
        obj.read = not read  # saved as it was; the state change below flips it
        super().save_model(request, obj, form, change)
        (state.mark_read if read else state.mark_unread)(obj.user, [obj.pk])
        obj.refresh_from_db(fields=["read", "read_at"])

    def delete_model(self, request: HttpRequest, obj: Message) -> None:
        """Delete through :mod:`monitio.state`: the deleted event is published on commit."""
        state.delete(obj.user, [obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        """The bulk delete action, per recipient, as :meth:`delete_model`."""
        by_user: dict = {}
        for message in queryset.select_related("user"):
            by_user.setdefault(message.user, []).append(message.pk)
        for user, ids in by_user.items():
            state.delete(user, ids)

    @admin.action(description=_("Mark selected messages as read"))
    def mark_read(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._change_state(request, queryset, True)

    @admin.action(description=_("Mark selected messages as unread"))
    def mark_unread(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._change_state(request, queryset, False)


@admin.register(PendingTask)
class PendingTaskAdmin(_OwnedByTasks):
    """The outbox, for looking only: the drain task owns these rows."""

    list_display = ("created", "task", "attempts")
    list_filter = ("task",)
    date_hierarchy = "created"

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    """Users' choices per kind and channel; a kind without a row follows its default."""

    list_display = ("user", "kind", "channel", "enabled", "modified")
    list_filter = ("kind", "channel", "enabled")
    list_select_related = ("user",)
    search_fields = ("kind", f"user__{get_user_model().USERNAME_FIELD}")
    raw_id_fields = ("user",)


@admin.register(EmailSettings)
class EmailSettingsAdmin(admin.ModelAdmin):
    """Users' time zones and quiet hours; an unknown time zone is refused (model ``clean``)."""

    list_display = ("user", "time_zone", "quiet_start", "quiet_end")
    list_select_related = ("user",)
    search_fields = ("time_zone", f"user__{get_user_model().USERNAME_FIELD}")
    raw_id_fields = ("user",)


@admin.register(EmailChoice)
class EmailChoiceAdmin(admin.ModelAdmin):
    """Users' e-mail policies per kind; a malformed or forbidden policy is refused."""

    list_display = ("user", "kind", "policy", "modified")
    list_filter = ("kind",)
    list_select_related = ("user",)
    search_fields = ("kind", "policy", f"user__{get_user_model().USERNAME_FIELD}")
    raw_id_fields = ("user",)


@admin.register(DigestRun)
class DigestRunAdmin(_OwnedByTasks):
    """The digests sent or being sent, for looking only: the digest tasks own these rows."""

    list_display = ("user", "window_end", "sent_at", "messages")
    list_select_related = ("user",)
    date_hierarchy = "window_end"
    search_fields = (f"user__{get_user_model().USERNAME_FIELD}",)
