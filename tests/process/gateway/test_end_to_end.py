"""The whole path: ``monitio.add_message`` in a view -> a real Celery worker process
-> Redis -> a real gateway process -> an SSE client; then a state change made
through the JSON views reaches the same stream as a ``read`` event."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.urls("tests.process.gateway.urls")


def test_add_message_in_a_view_reaches_the_sse_client(
    worker_process, start_gateway, redis_client, django_user_model
):
    gw = start_gateway()
    bob = django_user_model.objects.create_user("bob", password="pw-bob-123")
    browser = Client()
    browser.force_login(bob)
    answer = browser.post(reverse("monitio:persistent-messages-sse"))
    token = answer.cookies["monitio_stream"].value
    last = json.loads(answer.content)["last_event_id"]
    stream = gw.stream(token=token, query=f"last_event_id={last}")
    assert stream.status() == 200

    began = time.monotonic()
    sent = json.loads(
        browser.post("/send/", {"text": "<b>hi</b>\nline 2", "subject": "E2E"}).content
    )
    events = stream.wait_events(1, timeout=30)
    latency = time.monotonic() - began
    assert [e.type for e in events] == ["message"]
    data = json.loads(events[0].data)
    assert data["id"] == sent["id"]
    assert (data["message"], data["subject"], data["safe"]) == (
        "<b>hi</b>\nline 2",
        "E2E",
        False,
    )
    assert data["unread"] == 1 and data["persistent"] is True

    marked = browser.post(
        reverse("monitio:message_mark_read", args=[sent["id"]]),
        HTTP_ACCEPT="application/json",
    )
    assert json.loads(marked.content) == {"ok": True, "unread": 0}
    events = stream.wait_events(2, timeout=30)
    assert events[1].type == "read"
    assert json.loads(events[1].data) == {"ids": [sent["id"]], "unread": 0}
    stream.close()
    print(
        f"E2E add_message->worker->redis->gateway->client latency_s={latency:.2f} "
        f"read_event=yes"
    )
