"""A real prefork worker sends digests over real SMTP while beat's task was queued
twice and the pool processes are SIGKILLed mid-digest; the tasks come back and
every user still gets exactly one digest for the window.

Printed::

    DIGEST sigkill users=… kills=… emails=… duplicates=… missing=…
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from datetime import datetime, timezone

from django.contrib.auth import get_user_model

from bench.smtp_sink import Sink
from monitio import clock, email_settings
from monitio.models import DigestRun
from monitio_tasks.tasks import send_digests
from tests import procs
from tests.fast.digests.conftest import deliver
from tests.waiting import wait_until

NOON = datetime(2026, 7, 1, 12, tzinfo=timezone.utc)  # the window ended long ago
USERS = 40


def pool_children(pid: int) -> list[int]:
    try:
        return [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except FileNotFoundError:
        return []


def test_sigkilled_digest_tasks_come_back_and_send_each_digest_once(
    transactional_db, redis_client, broker_client, tmp_path
):
    User = get_user_model()
    users = [User.objects.create_user(f"k{i}", f"k{i}@example.com") for i in range(USERS)]
    for user in users:
        email_settings.change_policies(user, {"reply": "digest_daily:8"})
        with clock.frozen(NOON):
            for i in range(3):
                deliver(user, f"m{i}")
    sink = Sink(rcpt_delay=0.1).start()
    worker = procs.celery_worker(
        tmp_path / "worker.log", concurrency=2,
        DJANGO_SETTINGS_MODULE="tests.smtp_settings", MONITIO_TEST_SMTP_PORT=str(sink.port),
    )
    kills = 0
    try:
        send_digests.delay()
        send_digests.delay()  # beat twice: two batch tasks for the same windows
        for threshold in (8, 20):
            wait_until(lambda: len(sink.received) >= threshold and sink.waiting.is_set(), timeout=60,
                       interval=0.005, message=f"{threshold} digests sent, the next one in RCPT")
            for child in pool_children(worker.pid):  # while a digest waits for the server
                os.kill(child, signal.SIGKILL)
                kills += 1
        wait_until(lambda: DigestRun.objects.filter(sent_at__isnull=False).count() == USERS, timeout=120,
                   message="every digest marked sent")
    finally:
        procs.stop(worker)
        sink.stop()
    per_user = Counter(r.rcpt_to[0] for r in sink.received)
    duplicates = sum(n - 1 for n in per_user.values())
    missing = USERS - len(per_user)
    log = (tmp_path / "worker.log").read_text(errors="replace")
    print(f"DIGEST sigkill users={USERS} kills={kills} emails={len(sink.received)} "
          f"duplicates={duplicates} missing={missing}")
    assert "WorkerLostError" in log or "signal 9" in log  # the kills hit running tasks
    assert duplicates == 0 and missing == 0
    assert DigestRun.objects.count() == USERS
