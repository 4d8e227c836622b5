"""R4/R5: SIGKILL the worker's pool processes mid-task; nothing is lost or doubled.

A real prefork ``celery worker`` (acks_late, reject_on_worker_lost) runs every task
type while its pool children are killed at random moments. ``MONITIO_FAULT_KILLS``
sets the number of kills (default 100).
"""

import itertools
import json
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

from django.contrib.auth import get_user_model

import monitio
from monitio import state, wire
from monitio.models import Message
from tests import procs
from tests.waiting import wait_until

KILLS = int(os.environ.get("MONITIO_FAULT_KILLS", "100"))
PREFIX = "monitio-test"


def pool_children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except FileNotFoundError:
        return []


def emails_by_subject(folder: Path) -> Counter:
    found = Counter()
    for path in folder.glob("*.log"):
        for line in path.read_text().splitlines():
            if line.startswith("Subject: kill-"):
                found[line.removeprefix("Subject: ")] += 1
    return found


def test_sigkill_of_pool_children_loses_and_doubles_nothing(transactional_db, redis_client, broker_client, tmp_path):
    User = get_user_model()
    users = [User.objects.create_user(f"k{i}", f"k{i}@example.com") for i in range(4)]
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    worker = procs.celery_worker(
        tmp_path / "worker.log", concurrency=2,
        MONITIO_TEST_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        MONITIO_TEST_EMAIL_DIR=str(mail_dir),
    )
    rng = random.Random(4)
    expected: dict[str, str] = {}  # message id or subject -> kind
    emailed = set()
    killed = 0
    kill_times = []
    try:
        for i in itertools.count():
            if killed == KILLS:
                break
            kind = ("deliver+email", "create_message.delay", "deliver_bulk", "publish_state")[i % 4]
            to = users[i % len(users)]
            if kind == "deliver+email":
                mid = monitio.create_message(to, monitio.INFO, f"m{i}", subject=f"kill-{i}", email=True)
                expected[str(mid)] = kind
                emailed.add(f"kill-{i}")
            elif kind == "create_message.delay":
                monitio.create_message.delay(to.pk, monitio.INFO, f"m{i}", subject=f"kill-{i}")
                expected[f"kill-{i}"] = kind
            elif kind == "deliver_bulk":
                monitio.create_messages(users, monitio.INFO, f"m{i}", subject=f"kill-{i}")
                expected[f"kill-{i}"] = kind
            else:
                state.mark_read(to)
            time.sleep(rng.uniform(0, 0.06))
            children = pool_children(worker.pid)
            if children:
                try:
                    os.kill(rng.choice(children), signal.SIGKILL)
                except ProcessLookupError:  # reaped since it was listed: try again
                    continue
                killed += 1
                kill_times.append(time.monotonic())
            time.sleep(0.05)

        stored_ids = lambda: {str(pk) for pk in Message.objects.values_list("pk", flat=True)}
        subjects = lambda: Counter(Message.objects.values_list("subject", flat=True))
        by_id = [k for k, v in expected.items() if v == "deliver+email"]
        singles = [k for k, v in expected.items() if v == "create_message.delay"]
        bulks = [k for k, v in expected.items() if v == "deliver_bulk"]

        def complete():
            have, subj = stored_ids(), subjects()
            return (all(i in have for i in by_id) and all(subj[s] >= 1 for s in singles)
                    and all(subj[s] >= len(users) for s in bulks))

        wait_until(complete, timeout=180, message="every message stored")
        wait_until(lambda: Message.objects.filter(published_at__isnull=True).count() == 0, timeout=60)
        wait_until(lambda: set(emails_by_subject(mail_dir)) >= emailed
                   or Message.objects.filter(email=True).exclude(email_status="pending").count() == len(emailed),
                   timeout=120)
        recovered = time.monotonic() - kill_times[-1] if kill_times else 0.0

        subj = subjects()
        lost = (sum(1 for i in by_id if i not in stored_ids()) + sum(1 for s in singles if subj[s] < 1)
                + sum(1 for s in bulks if subj[s] < len(users)))
        dup_rows = sum(1 for s in singles if subj[s] > 1) + sum(1 for s in bulks if subj[s] > len(users))
        raw_events, distinct = 0, set()
        for user in users:
            for _, fields in redis_client.xrange(wire.user_stream_key(PREFIX, user.pk)):
                if fields["e"] == wire.MESSAGE:
                    raw_events += 1
                    distinct.add(json.loads(fields["d"])["id"])
        rows = Message.objects.count()
        sent = emails_by_subject(mail_dir)
        dup_emails = sum(n - 1 for n in sent.values() if n > 1)
        missing_emails = len(emailed - set(sent))
        print(f"R4 kills={killed} lost={lost} dup_rows={dup_rows} rows={rows} events={raw_events} "
              f"dup_events_after_dedupe={raw_events - len(distinct) if raw_events >= len(distinct) else 0} "
              f"dup_events_raw={raw_events - rows} emails_sent={sum(sent.values())}/{len(emailed)} "
              f"dup_emails={dup_emails} missing_emails={missing_emails}")
        print(f"R5 seconds_from_last_kill_to_all_done={recovered:.1f} visibility_timeout=3600")
        assert lost == 0 and dup_rows == 0
        assert len(distinct) == rows  # every stored message announced
        assert raw_events == rows  # the sent-marker keeps even raw duplicates out
        assert missing_emails == 0
    finally:
        procs.stop(worker)
