"""State changes made through the views reach the user's live stream in Redis.

A real Celery worker (the ``worker`` fixture) consumes the real Redis broker and
publishes to ``monitio-test:u:<uid>``, exactly as in production.
"""

from __future__ import annotations

import json
import time

from django.contrib.auth import get_user_model
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.urls import reverse

from monitio import wire
from monitio.conf import settings as monitio_settings
from tests.fast.web.helpers import JSON, url


def _events(
    redis_client, user, count: int, deadline: float = 30.0
) -> list[tuple[str, dict]]:
    """Wait for ``count`` events in ``user``'s stream; return (event, data) pairs."""
    key = wire.user_stream_key(monitio_settings.KEY_PREFIX, user.pk)
    stop = time.monotonic() + deadline
    while True:
        entries = redis_client.xrange(key)
        if len(entries) >= count or time.monotonic() > stop:
            return [(fields["e"], json.loads(fields["d"])) for _, fields in entries]
        time.sleep(0.05)


def test_mark_read_and_unread_publish_events(
    worker, redis_client, alice_client, alice, make_message
):
    message, other = make_message(alice), make_message(alice)
    alice_client.post(url("message_mark_read", message.pk), **JSON)
    # The event carries the count when the worker publishes it: wait, so it is 1.
    assert len(_events(redis_client, alice, 1)) == 1
    alice_client.post(url("message_mark_unread", message.pk), **JSON)
    assert _events(redis_client, alice, 2) == [
        (wire.READ, {"ids": [str(message.pk)], "unread": 1}),
        (wire.UNREAD, {"ids": [str(message.pk)], "unread": 2}),
    ]
    assert other.pk  # untouched, and not mentioned above


def test_mark_all_read_publishes_one_event_for_all(
    worker, redis_client, alice_client, alice, make_message
):
    made = {str(make_message(alice).pk) for _ in range(3)}
    alice_client.post(url("message_mark_all_read"))
    [(event, data)] = _events(redis_client, alice, 1)
    assert event == wire.READ and data["unread"] == 0
    assert set(data["ids"]) == made  # the ids, never "all" (see test_read_all_race)


def test_delete_and_delete_all_publish_deleted(
    worker, redis_client, alice_client, alice, make_message
):
    unread, read = make_message(alice), make_message(alice, read=True)
    alice_client.post(url("message_delete", unread.pk))
    assert len(_events(redis_client, alice, 1)) == 1
    alice_client.post(url("message_delete_all"))
    assert _events(redis_client, alice, 2) == [
        (wire.DELETED, {"ids": [str(unread.pk)], "unread": 0}),
        (wire.DELETED, {"ids": [str(read.pk)], "unread": 0}),
    ]


def test_refused_requests_publish_nothing(
    worker, redis_client, alice_client, alice, bob, make_message
):
    bobs = make_message(bob)
    alice_client.post(url("message_mark_read", bobs.pk))
    alice_client.get(url("message_delete", bobs.pk))
    # A later, valid change of Alice's proves the worker ran meanwhile.
    own = make_message(alice)
    alice_client.post(url("message_mark_read", own.pk))
    assert _events(redis_client, alice, 1) == [
        (wire.READ, {"ids": [str(own.pk)], "unread": 0})
    ]
    assert _events(redis_client, bob, 1, deadline=0) == []


def test_mark_as_read_by_url_publishes_read(worker, redis_client, alice, make_message):
    message = make_message(alice, url="/orders/7/")
    request = RequestFactory().get("/orders/7/")
    request.user = alice
    Template("{% load mark_as_read_by_url %}{% mark_as_read_by_url %}").render(
        Context({"request": request})
    )
    assert _events(redis_client, alice, 1) == [
        (wire.READ, {"ids": [str(message.pk)], "unread": 0})
    ]


def test_admin_actions_publish_to_each_recipient(
    worker, redis_client, alice, bob, make_message
):
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    admin = Client()
    admin.force_login(root)
    chosen = [make_message(alice), make_message(bob)]
    admin.post(
        reverse("admin:monitio_message_changelist"),
        {"action": "mark_read", "_selected_action": [str(m.pk) for m in chosen]},
    )
    assert _events(redis_client, alice, 1) == [
        (wire.READ, {"ids": [str(chosen[0].pk)], "unread": 0})
    ]
    assert _events(redis_client, bob, 1) == [
        (wire.READ, {"ids": [str(chosen[1].pk)], "unread": 0})
    ]
