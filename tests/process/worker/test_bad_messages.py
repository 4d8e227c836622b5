"""A message the worker cannot store never takes its batch down with it (issue 16, item 1).

The caller refuses bad input (tests/fast/core/test_validation.py); these payloads are
built by hand, as an older caller or a hand-made task would send them. Against a
real ``celery worker`` process and the real Redis: every good message of the batch
is stored and published, each bad one is logged at ERROR with its id, counted in
``<KEY_PREFIX>:rejected`` and not retried.
"""

import json
import re
import uuid

from django.contrib.auth import get_user_model

import monitio
from monitio import payloads, wire
from monitio.models import Message
from monitio_tasks import tasks
from tests import procs
from tests.waiting import wait_until

PREFIX = "monitio-test"
REJECTED = f"{PREFIX}:rejected"

#: How an older caller could break the worker's insert: text that is not valid
#: Unicode, an integer no column holds, a recipient id of the wrong type.
BAD = {
    "lone surrogate": {"message": "bad\ud800"},
    "close_timeout 2**63": {"close_timeout": 2**63},
    "recipient abc": {"user": "abc"},
}


def good_payload(user, text: str) -> dict:
    return payloads.build(user_id=user.pk, level=monitio.INFO, message=text)


def bad_payload(user, change: dict) -> dict:
    return {**good_payload(user, "bad"), **change}


def message_events(redis_client, user) -> list[str]:
    return [
        json.loads(fields["d"])["id"]
        for _, fields in redis_client.xrange(wire.user_stream_key(PREFIX, user.pk))
        if fields["e"] == wire.MESSAGE
    ]


def rejected_in_log(log, ids) -> set[str]:
    text = log.read_text()
    return {i for i in ids if re.search(rf"ERROR/.*Message {i} for user .* rejected", text)}


def test_bad_messages_in_a_batch_are_isolated_logged_counted_and_not_retried(
    transactional_db, redis_client, broker_client, tmp_path
):
    alice = get_user_model().objects.create_user("alice")
    batches = [
        ([good_payload(alice, f"{name} ok{i}") for i in range(3)], bad_payload(alice, change))
        for name, change in BAD.items()
    ]
    for good, bad in batches:  # one ``deliver`` task each, as ``monitio.batch()`` sends
        tasks.deliver.delay([*good[:2], bad, good[2]])
    good_ids = {p["id"] for good, _ in batches for p in good}
    bad_ids = {bad["id"] for _, bad in batches}
    log = tmp_path / "worker.log"
    worker = procs.celery_worker(log)
    try:
        wait_until(lambda: Message.objects.filter(published_at__isnull=False).count() == 9,
                   timeout=60, message="the 9 good messages published")
        wait_until(lambda: rejected_in_log(log, bad_ids) == bad_ids and
                   log.read_text().count("raised unexpected: MessageRejected") == 3,
                   timeout=30, message="the 3 bad messages logged")
    finally:
        procs.stop(worker)
    text = log.read_text()
    stored = {str(pk) for pk in Message.objects.values_list("pk", flat=True)}
    events = message_events(redis_client, alice)
    counted = redis_client.hgetall(REJECTED)
    retries = len(re.findall(r"Task monitio_tasks\.deliver\[.*\] retry", text))
    print(f"R24 bad-message batches=3 messages=12 good_stored={len(stored & good_ids)}/9 "
          f"good_published={len(set(events) & good_ids)}/9 bad_stored={len(stored & bad_ids)} "
          f"bad_logged={len(rejected_in_log(log, bad_ids))}/3 bad_counted={len(counted)}/3 "
          f"retries={retries}")
    assert stored == good_ids
    assert sorted(events) == sorted(good_ids)  # each published once
    assert set(counted) == bad_ids
    assert retries == 0


def test_bad_create_message_task_is_rejected_and_the_next_one_delivered(
    transactional_db, redis_client, broker_client, tmp_path
):
    """``tasks.create_message`` sent without ``.delay``'s check (by hand, an old caller)."""
    alice = get_user_model().objects.create_user("alice")
    bad = tasks.create_message.delay(alice.pk, monitio.INFO, "x", close_timeout=2**63)
    good = tasks.create_message.delay(alice.pk, monitio.INFO, "fine")
    bad_id = str(uuid.uuid5(tasks.TASK_MESSAGE_NAMESPACE, bad.id))
    log = tmp_path / "worker.log"
    worker = procs.celery_worker(log)
    try:
        wait_until(lambda: Message.objects.filter(published_at__isnull=False).count() == 1,
                   timeout=60, message="the good message published")
        wait_until(lambda: rejected_in_log(log, [bad_id]), timeout=30,
                   message="the bad message logged")
    finally:
        procs.stop(worker)
    assert Message.objects.get().message == "fine"
    assert set(redis_client.hgetall(REJECTED)) == {bad_id}
    assert " retry" not in log.read_text()
    assert str(uuid.uuid5(tasks.TASK_MESSAGE_NAMESPACE, good.id)) in message_events(redis_client, alice)


def test_coalesced_deliver_tasks_lose_no_good_message_to_a_bad_one(
    transactional_db, redis_client, broker_client, tmp_path
):
    """Tasks queued before the worker starts run as batches (the Celery accelerator);
    a bad message fails its own request only."""
    users = [get_user_model().objects.create_user(f"u{i}") for i in range(3)]
    good_ids, bad_ids = set(), set()
    for i in range(60):
        user = users[i % 3]
        batch = [good_payload(user, f"ok{i}")]
        if i % 10 == 5:
            batch.append(bad_payload(user, list(BAD.values())[i % 3]))
            bad_ids.add(batch[-1]["id"])
        good_ids.add(batch[0]["id"])
        tasks.deliver.delay(batch)
    log = tmp_path / "worker.log"
    worker = procs.celery_worker(log, MONITIO_TEST_ACCELERATORS="1")
    try:
        wait_until(lambda: Message.objects.filter(published_at__isnull=False).count() == 60,
                   timeout=120, message="the 60 good messages published")
        wait_until(lambda: set(redis_client.hgetall(REJECTED)) == bad_ids, timeout=30,
                   message="the 6 bad messages counted")
    finally:
        procs.stop(worker)
    batched = re.findall(r"Ran (\d+) monitio_tasks\.deliver requests as one batch", log.read_text())
    stored = {str(pk) for pk in Message.objects.values_list("pk", flat=True)}
    events = [e for user in users for e in message_events(redis_client, user)]
    print(f"coalesced bad-message tasks=60 bad=6 batches={len(batched)} "
          f"good_stored={len(stored & good_ids)}/60 events={len(events)} "
          f"bad_counted={len(redis_client.hgetall(REJECTED))}/6")
    assert stored == good_ids
    assert sorted(events) == sorted(good_ids)
    assert rejected_in_log(log, bad_ids) == bad_ids
