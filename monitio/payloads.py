"""The JSON task payload: a message as the request hands it to the worker.

A payload is :meth:`monitio.spec.MessageSpec.to_payload`'s dict. Its format is
stable: payloads already in a broker queue, in the outbox or in a carry cookie are
delivered by a newer monitio. The worker checks each again (:func:`check_payload`),
since a payload may come from an older caller or be made by hand.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from . import constants
from .exceptions import InvalidMessage
from .spec import MessageSpec

#: The payload fields every message sets; the others have defaults (:func:`defaults`).
REQUIRED = ("id", "user", "level", "message", "created")


def build(**fields: Any) -> dict[str, Any]:
    """Check a message (the fields of :class:`MessageSpec`) and return its payload."""
    return MessageSpec(**fields).to_payload()


def check_payload(payload: Any) -> None:
    """Check a payload the worker received with the caller's rules; raise
    :class:`InvalidMessage`."""
    if isinstance(payload, dict) and payload.get("user", 0) is None:
        raise InvalidMessage("A recipient is required.")
    MessageSpec.from_payload(payload)


@cache
def defaults() -> dict[str, Any]:
    """The payload fields that have a default, with it (:class:`MessageSpec`'s)."""
    payload = MessageSpec(user_id=None, level=constants.INFO, message="").to_payload()
    return {k: v for k, v in payload.items() if k not in REQUIRED}


def compact(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` without the fields at their default value (for a small cookie)."""
    default = defaults()
    return {k: v for k, v in payload.items() if k not in default or default[k] != v}


def expand(compacted: dict[str, Any]) -> dict[str, Any]:
    """The full payload of a :func:`compact` one."""
    return {**defaults(), **compacted}
