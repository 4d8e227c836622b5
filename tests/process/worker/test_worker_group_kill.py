"""R5: SIGKILL of a worker's whole process group (main process and pool) mid-burst.

A task the killed worker had taken stays in the Redis broker's ``unacked`` set until
the visibility timeout passes; with kombu's default (an hour) it waits that long. On
the documented set-up (the Procfile's worker with the example's Celery settings,
``monitio_tasks.redis_transport_options``) a worker started again runs it within the
requirement's 60 s: the test waits at most 90 s, then counts what was stored,
published and announced.
"""

import json
import os
import signal
import time

from django.contrib.auth import get_user_model

import monitio
from monitio import wire
from monitio.models import Message
from tests import procs
from tests.waiting import wait_until

from . import procfile

PREFIX = "monitio-test"
BURST = 500
VISIBILITY_TIMEOUT = procfile.example_settings().CELERY_BROKER_TRANSPORT_OPTIONS.get(
    "visibility_timeout", 3600  # kombu's default
)


def announced(redis_client, users) -> set[str]:
    """Ids of the messages a ``message`` event announced to ``users``."""
    ids = set()
    for user in users:
        for _, fields in redis_client.xrange(wire.user_stream_key(PREFIX, user.pk)):
            if fields["e"] == wire.MESSAGE:
                ids.add(json.loads(fields["d"])["id"])
    return ids


def test_tasks_of_a_killed_worker_group_run_within_a_minute_of_a_restart(
    transactional_db, redis_client, broker_client, tmp_path
):
    users = [get_user_model().objects.create_user(f"g{i}", f"g{i}@example.com") for i in range(5)]
    burst = Message.objects.filter(message__startswith="burst-")
    log = tmp_path / "worker.log"
    worker = procfile.start("worker", log, tmp_path)
    try:
        for i in range(BURST // 2):
            monitio.create_message.delay(users[i % 5].pk, monitio.INFO, f"burst-{i}")
        wait_until(lambda: burst.count() >= 25, timeout=60, message="the worker stores")
        os.killpg(worker.pid, signal.SIGKILL)  # main process and pool, mid-burst
        worker.wait(10)
        stored_at_kill = burst.count()
        unacked_at_kill = broker_client.hlen("unacked")
        for i in range(BURST // 2, BURST):
            monitio.create_message.delay(users[i % 5].pk, monitio.INFO, f"burst-{i}")

        worker = procfile.start("worker", log, tmp_path)
        running = time.monotonic()

        def settled() -> bool:
            # Every message delivered, or nothing left in the broker (queued or
            # unacknowledged) and everything stored published.
            published = burst.filter(published_at__isnull=False).count()
            return published == BURST or (
                not broker_client.llen("celery") and not broker_client.hlen("unacked")
                and published == burst.count()
            )

        try:
            wait_until(settled, timeout=90, interval=0.2, message="every message delivered")
        except AssertionError:
            pass  # the counts below say what is missing
        seconds = time.monotonic() - running
        stored = burst.count()
        published = burst.filter(published_at__isnull=False).count()
        events = announced(redis_client, users)
        texts = set(burst.values_list("message", flat=True))
        print(f"R5 group_kill burst={BURST} stored_at_kill={stored_at_kill} "
              f"unacked_at_kill={unacked_at_kill} stored={stored} published={published} "
              f"announced={len(events)} lost={BURST - len(texts)} "
              f"seconds_from_restart_to_all_delivered={seconds:.1f} "
              f"visibility_timeout={VISIBILITY_TIMEOUT}")
        assert unacked_at_kill > 0  # the killed worker held tasks: the case under test
        # kombu's Redis transport pops a task (BRPOP) before it records it as
        # unacknowledged: a main process killed between the two loses that one task
        # (docs/demo.md, "Broker restarts"; RELIABILITY.md R5b). Every other one, queued
        # or held by the killed worker, is delivered.
        assert len(texts) >= BURST - 1
        assert texts <= {f"burst-{i}" for i in range(BURST)}
        assert stored == published == len(texts)
        assert events == {str(pk) for pk in burst.values_list("pk", flat=True)}
        wait_until(lambda: broker_client.hlen("unacked") == 0, timeout=10, message="all acked")
    finally:
        procs.stop(worker)
