"""``{% monitio_live_config %}``: the live client's configuration, as ``json_script``.

Used by ``monitio/header.html``. The configuration is data, not code: the page needs
no inline script, so it works under ``Content-Security-Policy: script-src 'self'``.
"""

from __future__ import annotations

import logging
from typing import Any

from django import template
from django.conf import settings as django_settings
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.html import json_script

from .. import publish

register = template.Library()
logger = logging.getLogger("monitio")

#: Stands for a message id in the URL templates the client fills in.
PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
THEMES = ("default", "bootstrap5")


@register.simple_tag(takes_context=True)
def monitio_live_config(context: dict[str, Any], theme: str | None = None) -> str:
    """Return the ``<script type="application/json" id="monitio-config">`` element."""
    request = context.get("request")
    user = getattr(request, "user", None)
    theme = theme or context.get("monitio_theme") or "default"
    return json_script(live_config(request, user, theme), "monitio-config")


def live_config(request, user, theme: str = "default") -> dict[str, Any]:
    """Return what ``monitio.js`` needs: URLs, CSRF details, the current event id."""

    def url(name: str, *args: Any) -> str:
        return reverse(f"monitio:{name}", args=args)

    return {
        "streamTokenUrl": url("persistent-messages-sse"),
        "jsonUrl": url("message_json"),
        "unreadUrl": url("message_unread_count"),
        "inboxUrl": url("inbox"),
        "markReadUrl": url("message_mark_read", PLACEHOLDER),
        "markUnreadUrl": url("message_mark_unread", PLACEHOLDER),
        "deleteUrl": url("message_delete", PLACEHOLDER),
        "markAllReadUrl": url("message_mark_all_read"),
        # Read before the page's messages are rendered: whatever is published
        # after this point is replayed when the stream opens, so nothing is missed.
        "lastEventId": _current_event_id(user),
        "renderedAt": timezone.now().isoformat(),
        "theme": theme,
        "csrfCookieName": django_settings.CSRF_COOKIE_NAME,
        "csrfHeaderName": _csrf_header(),
        "csrfToken": get_token(request) if request is not None else "",
    }


def _current_event_id(user) -> str:
    if user is None or not user.is_authenticated:
        return ""
    try:
        return publish.current_event_id(user.pk)
    except Exception:
        # The page must render without Redis; the client asks again when it connects.
        logger.warning("could not read the current event id", exc_info=True)
        return ""


def _csrf_header() -> str:
    # "HTTP_X_CSRFTOKEN" -> "X-CSRFTOKEN" (header names are case-insensitive).
    name = django_settings.CSRF_HEADER_NAME
    return name.removeprefix("HTTP_").replace("_", "-")
