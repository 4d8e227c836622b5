"""With the Celery accelerator (monitio._compat.celery), the worker coalesces queued
``deliver`` tasks into batches:
each message is still stored and published exactly once, a batch that fails falls back
to its requests one by one, and a pool process killed mid-batch loses nothing."""

import contextlib
import json
import os
import re
import signal
import time

from celery import signals as celery_signals
from celery.contrib.testing.worker import start_worker
from django.contrib.auth import get_user_model

import monitio
from monitio import delivery, payloads, wire
from monitio.models import Message
from monitio_tasks import tasks
from tests import procs
from tests.celery_app import app as celery_app
from tests.process.worker.test_worker_kill import pool_children
from tests.waiting import wait_until

PREFIX = "monitio-test"
#: The worker runs with the accelerator these tests are about, whatever
#: MONITIO_TEST_ACCELERATORS says.
ACCELERATED = {"MONITIO_TEST_ACCELERATORS": "1"}
BATCH_LOG = re.compile(r"Ran (\d+) monitio_tasks\.deliver requests as one batch")


def message_events(redis_client, users) -> list[str]:
    """The message ids of every ``message`` event in the users' histories, duplicates kept."""
    return [
        json.loads(fields["d"])["id"]
        for user in users
        for _, fields in redis_client.xrange(wire.user_stream_key(PREFIX, user.pk))
        if fields["e"] == wire.MESSAGE
    ]


def queue_single_messages(users, n: int, tag: str) -> set[str]:
    """``n`` calls of ``monitio.create_message``: one ``deliver`` task each."""
    return {
        str(monitio.create_message(users[i % len(users)], monitio.INFO, f"{tag}{i}"))
        for i in range(n)
    }


def published() -> int:
    """Messages stored and announced so far."""
    return Message.objects.filter(published_at__isnull=False).count()


def stored_ids() -> set[str]:
    """Ids of every stored message."""
    return {str(pk) for pk in Message.objects.values_list("pk", flat=True)}


def test_single_message_tasks_queued_together_are_batched_and_each_delivered_once(
    transactional_db, redis_client, broker_client, tmp_path
):
    users = [get_user_model().objects.create_user(f"c{i}") for i in range(5)]
    expected = queue_single_messages(users, 300, "batched")  # queued before any worker
    log = tmp_path / "worker.log"
    worker = procs.celery_worker(log, **ACCELERATED)
    try:
        wait_until(lambda: published() == 300, timeout=120, message="300 messages published")
        batched = [int(n) for n in BATCH_LOG.findall(log.read_text())]
    finally:
        procs.stop(worker)
    stored = stored_ids()
    events = message_events(redis_client, users)
    print(f"coalescing tasks=300 batches={len(batched)} in_batches={sum(batched)} "
          f"largest={max(batched, default=0)} rows={len(stored)} events={len(events)}")
    assert batched, "no batch formed"
    assert stored == expected
    assert sorted(events) == sorted(expected)  # each published once


def test_a_failing_batch_runs_its_requests_one_by_one(
    transactional_db, redis_client, broker_client, settings
):
    """A missing recipient fails its own task only; the batch's other messages are stored."""
    failures = []

    def record(sender=None, exception=None, **kwargs):
        failures.append((sender.name, exception))

    settings.MONITIO = {**settings.MONITIO, "ACCELERATORS": True}
    celery_signals.task_failure.connect(record, weak=False)
    alice = get_user_model().objects.create_user("alice")
    good = [payloads.build(user_id=alice.pk, level=monitio.INFO, message=f"ok{i}") for i in range(20)]
    bad = payloads.build(user_id=987654, level=monitio.INFO, message="nobody")
    for payload in good[:10] + [bad] + good[10:]:
        tasks.deliver.delay([payload])
    try:
        with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False,
                          shutdown_timeout=30):
            wait_until(lambda: published() == 20 and failures, timeout=60)
            time.sleep(0.5)
    finally:
        celery_signals.task_failure.disconnect(record)
    assert [(name, type(exc)) for name, exc in failures] == [
        ("monitio_tasks.deliver", delivery.RecipientMissing)
    ]
    assert sorted(message_events(redis_client, [alice])) == sorted(p["id"] for p in good)


def test_pool_process_killed_mid_batch_loses_and_doubles_nothing(
    transactional_db, redis_client, broker_client, tmp_path
):
    users = [get_user_model().objects.create_user(f"k{i}") for i in range(5)]
    expected = queue_single_messages(users, 1500, "killed")
    log = tmp_path / "worker.log"
    worker = procs.celery_worker(log, **ACCELERATED)
    kills = batches_at_kill = 0
    try:
        # At least 5 kills, and on until one has cut a batch short (a kill between
        # two batches loses nothing and proves nothing); at most 40.
        while (
            (kills < 5 or "WorkerLostError" not in log.read_text())
            and kills < 40
            and published() < 1500
        ):
            time.sleep(0.1)
            # Kill only once the pool has finished a batch since the last kill: it is
            # up and working, so the next batch is likely running (killing children
            # still starting up would cut nothing short).
            batches = len(BATCH_LOG.findall(log.read_text()))
            if batches > batches_at_kill and (children := pool_children(worker.pid)):
                for child in children:  # the one running a batch among them
                    with contextlib.suppress(ProcessLookupError):  # reaped since listed
                        os.kill(child, signal.SIGKILL)
                kills, batches_at_kill = kills + 1, batches
        wait_until(lambda: published() == 1500, timeout=180, message="1500 messages published")
        lost_worker = log.read_text().count("WorkerLostError")
    finally:
        procs.stop(worker)
    stored = stored_ids()
    events = message_events(redis_client, users)
    print(f"coalescing kills={kills} worker_lost_logged={lost_worker} rows={len(stored)} "
          f"events={len(events)} distinct={len(set(events))}")
    assert kills > 0 and lost_worker > 0  # batches were cut short
    assert stored == expected  # nothing lost, nothing extra
    assert sorted(events) == sorted(expected)  # each published exactly once
