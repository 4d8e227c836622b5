"""Kinds the e-mail policy tests use, registered as a site's AppConfig.ready() would,
and a helper that stores messages through the worker's own delivery function."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import monitio
from monitio import delivery, payloads

REPLY = monitio.register_kind("reply", label="Replies <b>", channels={"inbox", "email"})
WEEKLY = monitio.register_kind(
    "roundup", label="Round-up", channels={"inbox", "email"}, email_policy="digest_weekly:0:9"
)
ALERT = monitio.register_kind(
    "alert", label="Alerts", channels={"inbox", "email"}, mandatory={"email"},
    email_policy="unread_after:5",
)


def deliver(user: Any, text: str, *, kind: str = "reply", created: datetime | None = None,
            **extra: Any) -> str:
    """Store one e-mailed message as the worker does; return its id."""
    payload = payloads.build(user_id=user.pk, level=monitio.INFO, message=text, email=True,
                             kind=kind, created=created, **extra)
    delivery.deliver([payload])
    return payload["id"]
