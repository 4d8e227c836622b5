"""Grouped messages delivered by two real worker processes at once: the database alone
(a partial unique constraint, an UPDATE before any INSERT) keeps one unread row per
user and key, and a redelivered message counts once."""

import json

from django.contrib.auth import get_user_model

import monitio
from monitio import payloads, sending, wire
from monitio.models import Message
from monitio_tasks import tasks
from tests import procs
from tests.waiting import wait_until

PREFIX = "monitio-test"
LOST_RACE = "was opened meanwhile: merged into it"


def test_two_workers_fold_200_grouped_messages_into_one_row(
    transactional_db, redis_client, broker_client, tmp_path
):
    User = get_user_model()
    alice = User.objects.create_user("alice")
    senders = [User.objects.create_user(f"s{i}") for i in range(5)]
    batch = [
        payloads.build(user_id=alice.pk, level=monitio.INFO, message=f"comment {i}",
                       from_user_id=senders[i % 5].pk, group_key="post-7")
        for i in range(200)
    ]
    # One task each, queued before the workers start, then the first 50 again: a
    # redelivery, racing with the first delivery on the other worker.
    for payload in batch + batch[:50]:
        sending.send(tasks.deliver, [[payload]])
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
    workers = [procs.celery_worker(log) for log in logs]
    try:
        wait_until(lambda: broker_client.llen("celery") == 0 and not broker_client.hlen("unacked"),
                   timeout=180, message="every task acknowledged")
    finally:
        for worker in workers:
            procs.stop(worker)
    rows = list(Message.objects.filter(user=alice))
    races = sum(log.read_text().count(LOST_RACE) for log in logs)
    history = redis_client.xrange(wire.user_stream_key(PREFIX, alice.pk))
    events = [fields["e"] for _, fields in history]
    last = json.loads(history[-1][1]["d"])
    print(f"grouping workers=2 tasks=250 rows={len(rows)} count={rows[0].group_count} "
          f"lost_insert_races={races} message_events={events.count(wire.MESSAGE)} "
          f"update_events={events.count(wire.UPDATE)}")
    assert [(r.read, r.group_key, r.group_count) for r in rows] == [(False, "post-7", 200)]
    assert events.count(wire.MESSAGE) == 1 and events.count(wire.UPDATE) == 199
    assert last["group"]["count"] == 200 and last["id"] == str(rows[0].pk)
