"""The worker's delivery: recipients are checked by the foreign key, not looked up."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import monitio
from monitio import delivery, payloads
from monitio.models import Message


def _payload(user_id, text, from_user_id=None) -> dict:
    return payloads.build(
        user_id=user_id, level=monitio.INFO, message=text, from_user_id=from_user_id
    )


def test_a_message_without_sender_is_stored_without_looking_up_users(
    transactional_db, alice, redis_client
):
    with CaptureQueriesContext(connection) as queries:
        delivery.deliver([_payload(alice.pk, "hello")])
    users_table = alice._meta.db_table
    assert not [q for q in queries if users_table in q["sql"]]
    row = Message.objects.get(user=alice)
    assert row.message == "hello" and row.published_at is not None


def test_a_missing_recipient_fails_visibly_and_the_others_are_delivered(
    transactional_db, alice, bob, redis_client, django_user_model
):
    carol = django_user_model.objects.create_user("carol")
    batch = [
        _payload(alice.pk, "from bob", from_user_id=bob.pk),
        _payload(alice.pk, "from carol", from_user_id=carol.pk),
        _payload(987654, "to nobody"),
    ]
    carol.delete()  # after the request queued her message
    with pytest.raises(delivery.RecipientMissing, match="recipient does not exist") as err:
        delivery.deliver(batch)
    assert batch[2]["id"] in str(err.value)
    rows = {m.message: m for m in Message.objects.all()}
    assert set(rows) == {"from bob", "from carol"}
    assert rows["from bob"].from_user == bob
    assert rows["from carol"].from_user is None
    assert all(m.published_at is not None for m in rows.values())
    # a redelivery of the same batch stores nothing twice and fails the same way
    with pytest.raises(delivery.RecipientMissing):
        delivery.deliver(batch)
    assert Message.objects.count() == 2
