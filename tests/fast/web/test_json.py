"""The JSON endpoints: the shape of a message, and cursor pagination."""

from __future__ import annotations

import base64
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
    "group",
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
        "group": None,
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


def _cursor(raw: str | bytes) -> str:
    """A cursor that decodes to ``raw``: well-formed on the outside."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


_PK = "0" * 32

BAD_CURSORS = [
    "!!!",  # not base64
    "a",  # a length base64 cannot have
    "é",  # not ASCII
    "bm90IGEgY3Vyc29y",  # no separator
    "eHx5",  # "x|y"
    # In range as written, out of range in UTC (OverflowError on the way to the DB).
    _cursor(f"9999-12-31T23:59:59-14:00|{_PK}"),
    _cursor(f"0001-01-01T00:00:00+14:00|{_PK}"),
    _cursor(f"9999-12-31T23:59:59.999999-00:01|{_PK}"),
    _cursor(f"10000-01-01T00:00:00+00:00|{_PK}"),
    _cursor(f"0000-01-01T00:00:00+00:00|{_PK}"),
    _cursor(f"2026-13-01T00:00:00+00:00|{_PK}"),
    _cursor(f"2026-02-30T00:00:00+00:00|{_PK}"),
    _cursor(f"2026-01-01T24:00:01+00:00|{_PK}"),
    _cursor(f"2026-01-01T00:00:00+24:00|{_PK}"),  # an offset of a day or more
    _cursor(f"2026-01-01T00:00:00|{_PK}"),  # naive
    _cursor(f"2026-01-01T00:00:0\u00b2+00:00|{_PK}"),  # a superscript digit
    _cursor(f"2026-01-01T00:00:00\x00+00:00|{_PK}"),
    _cursor("2026-01-01T00:00:00+00:00|not-a-uuid"),
    _cursor("2026-01-01T00:00:00+00:00|"),
    _cursor(f"|{_PK}"),
    _cursor(b"\xff\xfe|" + _PK.encode()),  # not UTF-8
    _cursor(f"2026-01-01T00:00:00+00:00\ud800|{_PK}"),  # a lone surrogate
    "A" * 10_000,
]


@pytest.mark.parametrize(
    "query",
    [{"cursor": cursor} for cursor in BAD_CURSORS]
    + [{"limit": "ten"}, {"limit": "1e3"}, {"limit": "9" * 5000}],
)
def test_bad_cursor_or_limit_is_400(alice_client, alice, make_message, query):
    make_message(alice, "there is a page to filter")
    response = alice_client.get(url("message_json"), query)
    assert response.status_code == 400
    assert body(response) == {"ok": False, "error": "bad cursor or limit"}


def test_cursor_at_the_edges_of_the_calendar_is_valid(alice_client, alice, make_message):
    """The earliest and latest instants a cursor can name page normally."""
    mine = make_message(alice, "mine")
    for raw, expected in [
        (f"9999-12-31T23:59:59+00:00|{_PK}", [str(mine.pk)]),
        (f"0001-01-01T00:00:00+00:00|{_PK}", []),
        (f"9999-12-31T23:59:59+14:00|{_PK}", [str(mine.pk)]),
        (f"0001-01-01T00:00:00-14:00|{_PK}", []),
    ]:
        response = alice_client.get(url("message_json"), {"cursor": _cursor(raw)})
        assert response.status_code == 200, raw
        assert [m["id"] for m in body(response)["messages"]] == expected, raw


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
