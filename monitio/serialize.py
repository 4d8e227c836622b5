"""The JSON shape of a stored message, shared by the JSON views and live events."""

from __future__ import annotations

from typing import Any

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
    ) | {"read": message.read}
