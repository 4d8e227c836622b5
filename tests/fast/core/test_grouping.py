"""Live grouping (monitio.grouping): a message with a ``group_key`` updates the user's
unread message with that key, with real Redis and the test database in-process."""

import json
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import override

import monitio
from monitio import delivery, grouping, payloads, state, wire
from monitio.exceptions import InvalidMessage
from monitio.models import Message
from monitio.serialize import group_summary

PREFIX = "monitio-test"


def _payload(user, text, key="post-1", sender=None, **options) -> dict:
    return payloads.build(
        user_id=user.pk, level=monitio.INFO, message=text, group_key=key,
        from_user_id=sender.pk if sender is not None else None, **options,
    )


def _events(redis_client, user) -> list[tuple[str, dict]]:
    entries = redis_client.xrange(wire.user_stream_key(PREFIX, user.pk))
    return [(fields["e"], json.loads(fields["d"])) for _, fields in entries]


def test_messages_with_a_key_update_one_unread_row(transactional_db, alice, bob, redis_client):
    first = _payload(alice, "commented on your post", sender=bob)
    delivery.deliver([first])
    for i in range(4):
        delivery.deliver([_payload(alice, f"comment {i}", sender=alice)])
    row = Message.objects.get(user=alice)
    assert str(row.pk) == first["id"]  # the row keeps the first message's id
    assert (row.group_count, row.message, row.senders) == (5, "comment 3", ["alice", "bob"])
    assert row.from_user == alice
    events = _events(redis_client, alice)
    assert [e for e, _ in events] == [wire.MESSAGE] + [wire.UPDATE] * 4
    last = events[-1][1]
    assert last["id"] == first["id"] and last["unread"] is None
    assert last["group"] == {
        "key": "post-1", "count": 5, "senders": ["alice", "bob"],
        "summary": "alice, bob and 3 others",
    }
    assert state.unread_count(alice) == 1


def test_a_grouped_update_is_one_update_statement(transactional_db, alice, bob, redis_client):
    delivery.deliver([_payload(alice, "first", sender=bob)])
    with CaptureQueriesContext(connection) as queries:
        delivery.deliver([_payload(alice, "second", sender=bob)])
    sql = [q["sql"].split()[0].upper() for q in queries]
    print(f"grouping statements per update: {sql}")
    assert sql == ["SELECT", "UPDATE"]  # the senders' names, then the merge
    assert Message.objects.get().group_count == 2


def test_a_redelivered_grouped_message_counts_once(transactional_db, alice, redis_client):
    batch = [_payload(alice, f"step {i}") for i in range(1, 4)]
    delivery.deliver(batch)
    delivery.deliver(batch)  # the worker died before acknowledging: all of it again
    delivery.deliver(batch[1:2])
    row = Message.objects.get()
    assert (row.group_count, row.message) == (3, "step 3")
    assert [e for e, _ in _events(redis_client, alice)] == [wire.MESSAGE, wire.UPDATE, wire.UPDATE]


def test_reading_the_group_starts_a_new_one(transactional_db, alice, redis_client):
    delivery.deliver([_payload(alice, "one")])
    state.mark_read(alice)
    delivery.deliver([_payload(alice, "two")])
    delivery.deliver([_payload(alice, "three")])
    rows = list(Message.objects.order_by("created"))
    assert [(m.read, m.group_count, m.message) for m in rows] == [
        (True, 1, "one"), (False, 2, "three")
    ]
    # Marked unread again, the old group is closed: one open group per key still.
    state.mark_unread(alice, [rows[0].pk])
    delivery.deliver([_payload(alice, "four")])
    rows = list(Message.objects.order_by("created"))
    assert [(m.group_key, m.group_count) for m in rows] == [(None, 1), ("post-1", 3)]


def test_keys_and_users_are_separate_groups(transactional_db, alice, bob, redis_client):
    delivery.deliver([
        _payload(alice, "a"), _payload(alice, "b", key="post-2"), _payload(bob, "c"),
        _payload(alice, "d"), _payload(alice, "plain", key=None),
    ])
    rows = Message.objects.values_list("user__username", "group_key", "group_count")
    counts = sorted(rows, key=lambda row: (row[0], row[1] or ""))
    assert counts == [("alice", None, 1), ("alice", "post-1", 2), ("alice", "post-2", 1),
                      ("bob", "post-1", 1)]


def test_an_older_message_stored_late_counts_but_keeps_the_newest_text(
    transactional_db, alice, redis_client
):
    now = timezone.now()
    delivery.deliver([_payload(alice, "step 2 of 3", created=now)])
    delivery.deliver([_payload(alice, "step 3 of 3", created=now + timedelta(seconds=1))])
    delivery.deliver([_payload(alice, "step 1 of 3", created=now - timedelta(seconds=1))])
    row = Message.objects.get()
    latest = now + timedelta(seconds=1)
    assert (row.group_count, row.message, row.created) == (3, "step 3 of 3", latest)


def test_the_database_allows_one_unread_row_per_user_and_key(transactional_db, alice):
    Message.objects.create(user=alice, level=monitio.INFO, message="a", group_key="k")
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(user=alice, level=monitio.INFO, message="b", group_key="k")
    Message.objects.create(user=alice, level=monitio.INFO, message="c", group_key="k", read=True)
    Message.objects.create(user=alice, level=monitio.INFO, message="d")
    Message.objects.create(user=alice, level=monitio.INFO, message="e")


def test_an_insert_that_loses_the_race_becomes_an_update(transactional_db, alice, redis_client):
    """Another worker opens the group between this one's UPDATE (which finds none)
    and its INSERT: the constraint refuses the INSERT, and the UPDATE runs again."""
    payload = _payload(alice, "second")
    other = []

    def other_worker(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith("UPDATE") and not other:  # right after the first UPDATE
            other.append(Message.objects.create(
                user=alice, level=monitio.INFO, message="first", group_key="post-1",
                created=timezone.now() - timedelta(minutes=1),
            ))
        return result

    with connection.execute_wrapper(other_worker):
        started, merged, missing = grouping.store([payload], {})
    assert (started, missing) == ([], [])
    assert [(m.pk, i) for m, i in merged] == [(other[0].pk, payload["id"])]
    row = Message.objects.get()
    assert (row.group_count, row.message) == (2, "second")


def test_a_missing_recipient_of_a_grouped_message_is_reported(transactional_db, alice, redis_client):
    payload = _payload(alice, "x")
    payload["user"] = 987654
    with pytest.raises(delivery.RecipientMissing, match=payload["id"]):
        delivery.deliver([payload])
    assert not Message.objects.exists()


@pytest.mark.parametrize("key", ["k" * 101, "", "a\x00b", "\ud800", 5, b"bytes"])
def test_a_bad_group_key_is_refused_in_the_caller(db, alice, key):
    with pytest.raises(InvalidMessage, match="group_key"):
        monitio.create_message(alice, monitio.INFO, "hi", group_key=key)


def test_a_worker_rejects_a_payload_with_a_bad_group_key(transactional_db, alice, redis_client):
    payload = _payload(alice, "x")
    payload["group_key"] = "k" * 101
    with pytest.raises(delivery.MessageRejected):
        delivery.deliver([payload])
    assert not Message.objects.exists()
    assert redis_client.hexists(f"{PREFIX}:rejected", payload["id"])


def test_the_summary_has_plural_forms_in_polish(transactional_db, alice):
    row = Message(user=alice, level=monitio.INFO, message="x", group_key="k",
                  group_senders="ana\nben\nana\n", group_count=2)
    with override("en"):
        assert group_summary(row) == "ana, ben"
        row.group_count = 3
        assert group_summary(row) == "ana, ben and 1 other"
    with override("pl"):
        assert group_summary(row) == "ana, ben i 1 inna osoba"
        row.group_count = 4
        assert group_summary(row) == "ana, ben i 2 inne osoby"
        row.group_count = 51
        assert group_summary(row) == "ana, ben i 49 innych osób"


def test_the_inbox_names_the_latest_senders_with_plural_forms(db, alice):
    from django.template.loader import render_to_string

    row = Message.objects.create(
        user=alice, level=monitio.INFO, message="commented", group_key="k",
        group_senders="ana\n<b>ben</b>\n", group_count=51,
    )
    with override("pl"):
        html = render_to_string("monitio/includes/message_li.html", {"message": row})
    assert "ana, &lt;b&gt;ben&lt;/b&gt; i 49 innych osób" in html
    with override("en"):
        html = render_to_string("monitio/includes/message_li.html", {"message": row})
    assert "ana, &lt;b&gt;ben&lt;/b&gt; and 49 others" in html


def test_the_test_outbox_shows_the_group_key(db, alice):
    from monitio.testing import capture_messages

    with capture_messages() as outbox:
        monitio.create_message(alice, monitio.INFO, "a", group_key="k1")
        monitio.create_message.delay(alice.pk, monitio.INFO, "b", group_key="k2")
        monitio.create_messages([alice], monitio.INFO, "c", group_key="k3")
    assert sorted(m.group_key for m in outbox.messages) == ["k1", "k2", "k3"]


def test_add_message_takes_a_group_key_and_refuses_an_oversized_one(db, alice, bob):
    from monitio.testing import capture_messages
    from tests.fast.core.test_api import make_request

    with pytest.raises(InvalidMessage, match="group_key"):
        monitio.add_message(make_request(alice), monitio.INFO, "x", user=bob, group_key="k" * 101)
    with capture_messages() as outbox:
        request = make_request(alice)
        monitio.add_message(request, monitio.INFO, "x", user=bob, group_key="k")
        monitio.add_message(request, monitio.INFO, "mine", group_key="k")
        response = HttpResponse()
        request._messages.update(response)
    assert [(m.message, m.group_key) for m in outbox.messages] == [("x", "k"), ("mine", "k")]
    assert "monitio_pending" not in response.cookies  # a grouped message is not carried
