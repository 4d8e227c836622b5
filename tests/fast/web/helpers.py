"""Helpers shared by the web tests."""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from monitio.models import Message

JSON = {"HTTP_ACCEPT": "application/json"}

#: The state-changing views: (URL name, whether it takes a message id).
POST_VIEWS = [
    ("message_mark_read", True),
    ("message_mark_unread", True),
    ("message_mark_all_read", False),
    ("message_delete", True),
    ("message_delete_all", False),
]


def url(name: str, message_id=None) -> str:
    args = [message_id] if message_id is not None else []
    return reverse(f"monitio:{name}", args=args)


def snapshot() -> list[tuple]:
    """Every message's state, to prove a refused request changed nothing."""
    return list(Message.objects.order_by("id").values_list("id", "user_id", "read"))


def csrf_token(client: Client) -> str:
    """Load a page with forms, as a browser would, and return the CSRF cookie."""
    assert client.get(reverse("monitio:inbox")).status_code == 200
    return client.cookies["csrftoken"].value


def body(response) -> dict:
    return json.loads(response.content)
