"""The stream-token view: a POST with CSRF from a logged-in user gets a strict,
HttpOnly, path-bound credential cookie, nothing else does."""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from monitio import publish

TOKEN_URL = "monitio:persistent-messages-sse"


def test_stream_token_view_sets_strict_httponly_cookie(alice, redis_client):
    client = Client()
    client.force_login(alice)
    response = client.post(reverse(TOKEN_URL), HTTP_ACCEPT="application/json")
    body = json.loads(response.content)
    cookie = response.cookies["monitio_stream"]
    assert body == {"url": "/sse/", "last_event_id": publish.current_event_id(alice.pk)}
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == "/sse/" and cookie["max-age"] == 300
    assert (
        "no-store" in response["Cache-Control"]
        or "no-cache" in response["Cache-Control"]
    )


def test_stream_token_requires_post_csrf_and_login(alice, redis_client):
    assert Client().post(reverse(TOKEN_URL)).status_code == 401
    logged_in = Client(enforce_csrf_checks=True)
    logged_in.force_login(alice)
    assert logged_in.get(reverse(TOKEN_URL)).status_code == 405
    response = logged_in.post(reverse(TOKEN_URL))
    assert response.status_code == 403 and "monitio_stream" not in response.cookies
