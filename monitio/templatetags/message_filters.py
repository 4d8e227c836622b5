"""Filters that pick which messages to show: ``latest`` and ``latest_or_unread``.

Both take a queryset of messages (for example ``messages.get_persistent``) or any
iterable of them, and a count.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

register = template.Library()


def _newest_first(messages: Iterable[Any]) -> list[Any]:
    return sorted(messages, key=lambda m: m.created, reverse=True)


@register.filter
def latest(messages: Any, count: int) -> Any:
    """Return the ``count`` newest messages."""
    count = int(count)
    if hasattr(messages, "order_by"):
        return messages.order_by("-created")[:count]
    return _newest_first(messages)[:count]


@register.filter
def latest_or_unread(messages: Any, count: int) -> Any:
    """Return every unread message, then the newest read ones up to ``count`` in all."""
    count = int(count)
    if hasattr(messages, "order_by"):
        shown = max(count, messages.filter(read=False).count())
        return messages.order_by("read", "-created")[:shown]
    rows = _newest_first(messages)
    unread = [m for m in rows if not m.read]
    read = [m for m in rows if m.read]
    return unread + read[: max(0, count - len(unread))]
