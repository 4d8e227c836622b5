"""monitio.batch(): the messages a block creates travel as one task, and only those
whose transaction commits."""

import pytest
from django.db import transaction

import monitio
from monitio.models import Message
from tests.fast.core.test_pipeline import user_events
from tests.fast.core.test_storage import task_body
from tests.waiting import wait_until


def queued(broker_client) -> list[list[str]]:
    """The messages of each task on the broker, oldest task first."""
    raws = reversed(broker_client.lrange("celery", 0, -1))  # LPUSH: newest first
    return [[p["message"] for p in task_body(raw)[0][0]] for raw in raws]


def test_without_a_batch_each_message_is_a_task(transactional_db, alice, broker_client):
    with transaction.atomic():
        for i in range(3):
            monitio.create_message(alice, monitio.INFO, f"m{i}")

    assert queued(broker_client) == [["m0"], ["m1"], ["m2"]]


def test_a_batch_in_a_transaction_is_one_task_sent_at_commit(
    transactional_db, alice, bob, broker_client
):
    with transaction.atomic():
        with monitio.batch():
            for i in range(4):
                monitio.create_message([alice, bob][i % 2], monitio.INFO, f"m{i}")
        assert queued(broker_client) == []

    assert queued(broker_client) == [["m0", "m1", "m2", "m3"]]


def test_a_batch_in_autocommit_is_sent_when_the_block_ends(transactional_db, alice, broker_client):
    with monitio.batch():
        monitio.create_message(alice, monitio.INFO, "a")
        with monitio.batch():  # joins the outer batch
            monitio.create_message(alice, monitio.INFO, "b")
        assert queued(broker_client) == []

    assert queued(broker_client) == [["a", "b"]]


def test_a_message_in_a_rolled_back_savepoint_is_dropped(
    transactional_db, alice, broker_client
):
    with transaction.atomic(), monitio.batch():
        monitio.create_message(alice, monitio.INFO, "kept")
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            monitio.create_message(alice, monitio.INFO, "rolled back")
            1 / 0
        monitio.create_message(alice, monitio.INFO, "kept too")

    assert queued(broker_client) == [["kept", "kept too"]]


def test_a_rolled_back_transaction_sends_nothing(transactional_db, alice, broker_client):
    with pytest.raises(ZeroDivisionError), transaction.atomic(), monitio.batch():
        monitio.create_message(alice, monitio.INFO, "never")
        1 / 0

    assert queued(broker_client) == []


def test_an_error_in_autocommit_sends_what_was_created_before_it(
    transactional_db, alice, broker_client
):
    # As without a batch: in autocommit each message is committed when created.
    with pytest.raises(ZeroDivisionError), monitio.batch():
        monitio.create_message(alice, monitio.INFO, "sent")
        1 / 0

    assert queued(broker_client) == [["sent"]]


def test_a_large_batch_is_split_into_tasks_of_bulk_batch_size(
    transactional_db, alice, broker_client, settings
):
    settings.MONITIO = {**settings.MONITIO, "BULK_BATCH_SIZE": 2}
    with monitio.batch():
        for i in range(5):
            monitio.create_message(alice, monitio.INFO, f"m{i}")

    assert queued(broker_client) == [["m0", "m1"], ["m2", "m3"], ["m4"]]


def test_a_batch_is_stored_and_published_by_the_worker(worker, alice, bob, redis_client):
    with transaction.atomic(), monitio.batch():
        ids = [monitio.create_message(u, monitio.INFO, f"to {u}") for u in (alice, bob, alice)]

    wait_until(lambda: Message.objects.filter(pk__in=ids, published_at__isnull=False).count() == 3)
    assert len(user_events(redis_client, alice)) == 2
    assert len(user_events(redis_client, bob)) == 1
