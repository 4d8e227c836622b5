"""The JSON shape of a stored message, shared by the JSON views and live events."""

from __future__ import annotations

from typing import Any

from django.utils.translation import ngettext

from . import wire
from .models import Message


def sender_name(message: Message) -> str | None:
    sender = message.from_user
    return sender.get_username() if sender is not None else None


def message_dict(message: Message, unread: int | None = None) -> dict[str, Any]:
    """Return ``message`` as the ``message`` event's data (see :func:`monitio.wire.message_data`),
    a translatable one in the active language."""
    return wire.message_data(
        id=str(message.id),
        level=message.level,
        tags=message.tags,
        message=str(message.text),
        subject=message.subject_text,
        safe=message.safe,
        persistent=message.is_persistent(),
        from_user=sender_name(message),
        url=message.url,
        close_timeout=message.close_timeout,
        created=message.created.isoformat(),
        expires=message.expires.isoformat() if message.expires else None,
        unread=unread,
        group=group_dict(message),
    ) | {"read": message.read}


def group_dict(message: Message) -> dict[str, Any] | None:
    """The ``group`` of an event: ``None`` unless the message has a ``group_key``."""
    if not message.group_key:
        return None
    return {
        "key": message.group_key,
        "count": message.group_count,
        "senders": message.senders,
        "summary": group_summary(message),
    }


def group_summary(message: Message) -> str | None:
    """"Ana, Ben and 49 others": the latest senders, and how many more messages.

    The same text as the template ``monitio/includes/group_senders.html`` (one
    translation); ``None`` when the group's messages name no sender.
    """
    names = ", ".join(message.senders)
    if not names:
        return None
    others = message.group_others
    if not others:
        return names
    return ngettext(
        "%(names)s and %(others)s other", "%(names)s and %(others)s others", others
    ) % {"names": names, "others": others}
