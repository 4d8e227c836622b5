"""The JSON endpoints: the shape of a message, and cursor pagination."""

from __future__ import annotations

from datetime import timedelta
from datetime import timezone as dt_timezone

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitio import WARNING
from monitio.models import Message
from monitio.views import decode_cursor, encode_cursor

from .helpers import body, url

MESSAGE_KEYS = {
    "id",
    "level",
    "tags",
    "message",
    "subject",
    "safe",
    "persistent",
    "from_user",
    "url",
    "close_timeout",
    "created",
    "expires",
    "unread",
    "read",
}


def _walk(client, limit, **query):
    """Follow ``next`` to the end; return the ids seen, in order, and the page count."""
    ids, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit, **query} | ({"cursor": cursor} if cursor else {})
        data = body(client.get(url("message_json"), params))
        ids += [m["id"] for m in data["messages"]]
        pages += 1
        cursor = data["next"]
        if cursor is None:
            return ids, pages


def test_message_json_shape(alice_client, alice, bob, make_message):
    expires = timezone.now() + timedelta(days=3)
    message = make_message(
        alice,
        "body <b>",
        level=WARNING,
        subject="Subj",
        from_user=bob,
        extra_tags="x y",
        url="/orders/7/",
        close_timeout=5000,
        expires=expires,
    )
    data = body(alice_client.get(url("message_json")))
    assert set(data) == {"messages", "next", "unread"}
    assert data["next"] is None and data["unread"] == 1
    [item] = data["messages"]
    assert set(item) == MESSAGE_KEYS
    assert item | {"created": None} == {
        "id": str(message.pk),
        "level": WARNING,
        "tags": "x y warning",
        "message": "body <b>",
        "subject": "Subj",
        "safe": False,
        "persistent": True,
        "from_user": "bob",
        "url": "/orders/7/",
        "close_timeout": 5000,
        "created": None,
        "expires": expires.isoformat(),
        "unread": None,
        "read": False,
    }
    assert parse_datetime(item["created"]) == message.created


def test_message_json_is_newest_first_and_only_own(
    alice_client, alice, bob, make_message
):
    mine = [make_message(alice, f"m{i}") for i in range(5)]
    make_message(bob, "not yours")
    make_message(alice, "expired", expires=timezone.now() - timedelta(seconds=1))
    ids, _ = _walk(alice_client, 100)
    assert ids == [str(m.pk) for m in reversed(mine)]


def test_cursor_pages_have_no_duplicates_or_gaps(alice_client, alice, make_message):
    made = [make_message(alice, f"m{i}") for i in range(57)]
    # Ten messages share one timestamp: the id breaks the tie.
    same = made[20].created
    Message.objects.filter(pk__in=[m.pk for m in made[15:25]]).update(created=same)
    # Whole seconds are stored without a fraction on SQLite: mix them in.
    for m in made[30:35]:
        Message.objects.filter(pk=m.pk).update(created=same.replace(microsecond=0))
    expected = list(
        Message.objects.order_by("-created", "-id").values_list("id", flat=True)
    )
    for limit in (1, 3, 10, 56, 57, 100):
        ids, pages = _walk(alice_client, limit)
        assert ids == [str(i) for i in expected], limit
        assert pages == -(-57 // limit)


def test_cursor_pages_are_stable_under_inserts(alice_client, alice, make_message):
    old = [make_message(alice, f"old {i}") for i in range(25)]
    first = body(alice_client.get(url("message_json"), {"limit": 10}))
    # New messages arrive while the client is paging.
    newer = [
        Message.objects.create(user=alice, level=WARNING, message=f"new {i}")
        for i in range(7)
    ]
    seen = [m["id"] for m in first["messages"]]
    cursor = first["next"]
    while cursor:
        data = body(
            alice_client.get(url("message_json"), {"limit": 10, "cursor": cursor})
        )
        seen += [m["id"] for m in data["messages"]]
        cursor = data["next"]
    assert seen == [str(m.pk) for m in reversed(old)]
    assert not {str(m.pk) for m in newer} & set(seen)
    # ...and a fresh walk starts with them.
    assert _walk(alice_client, 100)[0][:7] == [str(m.pk) for m in reversed(newer)]


def test_unread_filter_and_count(alice_client, alice, make_message):
    unread = [make_message(alice, f"u{i}") for i in range(4)]
    for i in range(3):
        make_message(alice, f"r{i}", read=True)
    ids, _ = _walk(alice_client, 2, unread="1")
    assert ids == [str(m.pk) for m in reversed(unread)]
    data = body(alice_client.get(url("message_json"), {"unread": "1"}))
    assert data["unread"] == 4 and all(m["read"] is False for m in data["messages"])


def test_limit_is_clamped_to_1_100_with_default_20(alice_client, alice):
    Message.objects.bulk_create(
        Message(user=alice, level=WARNING, message=f"m{i}") for i in range(120)
    )

    def count(**query) -> int:
        return len(body(alice_client.get(url("message_json"), query))["messages"])

    assert count() == 20
    assert count(limit=500) == 100
    assert count(limit=0) == 1
    assert count(limit=-5) == 1


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": "!!!"},
        {"cursor": "bm90IGEgY3Vyc29y"},
        {"cursor": "eHx5"},
        {"limit": "ten"},
    ],
)
def test_bad_cursor_or_limit_is_400(alice_client, alice, query):
    response = alice_client.get(url("message_json"), query)
    assert response.status_code == 400
    assert body(response)["ok"] is False


def test_someone_elses_cursor_reveals_nothing_of_theirs(
    alice_client, alice, bob, make_message
):
    bobs = [make_message(bob, f"b{i}") for i in range(3)]
    mine = make_message(alice, "mine", created=bobs[0].created - timedelta(seconds=5))
    data = body(
        alice_client.get(url("message_json"), {"cursor": encode_cursor(bobs[-1])})
    )
    assert [m["id"] for m in data["messages"]] == [str(mine.pk)]


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.datetimes(timezones=st.just(dt_timezone.utc)), st.uuids())
def test_cursor_round_trips(when, pk):
    message = Message(id=pk, created=when)
    assert decode_cursor(encode_cursor(message)) == (when, pk)


def test_json_for_a_user_with_no_messages(alice_client):
    assert body(alice_client.get(url("message_json"))) == {
        "messages": [],
        "next": None,
        "unread": 0,
    }


def test_only_counts_what_the_user_may_see(alice_client, alice):
    other = get_user_model().objects.create_user("carol")
    Message.objects.create(user=other, level=WARNING, message="x")
    assert body(alice_client.get(url("message_unread_count"))) == {"unread": 0}
