"""Benchmark: one digest run for 10,000 users with 10 unread messages each.

The messages are stored as the worker stores messages whose policy is a daily
digest (status ``digest``, due at the end of a window that has passed); then one
real prefork Celery worker (``-c 2``) runs what beat starts, ``send_digests``, which
hands the windows to ``send_digest_batch`` tasks that render and send each digest
over Django's SMTP backend to an SMTP sink in this process (:mod:`bench.smtp_sink`).
The clock starts when ``send_digests`` is queued and stops when every
:class:`~monitio.models.DigestRun` is marked sent.

Printed: users, e-mails the sink received, duplicates (a recipient with more than
one), seconds and e-mails/s. ``--quick``: 1,000 users.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from datetime import timedelta

from bench import env as bench_env
from bench import harness, report
from bench.smtp_sink import Sink

PER_USER = 10


def _load(users: int) -> None:
    """``users`` users, each with ``PER_USER`` unread messages waiting for one digest."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    import monitio
    from monitio.models import Message

    User = get_user_model()
    User.objects.bulk_create(
        [User(username=f"digest-{i}", email=f"digest-{i}@example.com") for i in range(users)],
        batch_size=1_000,
    )
    window_end = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    created = window_end - timedelta(hours=12)
    ids = list(User.objects.filter(username__startswith="digest-").values_list("pk", flat=True))
    for start in range(0, len(ids), 1_000):
        Message.objects.bulk_create(
            [
                Message(user_id=uid, level=monitio.INFO, subject=f"Reply {n}",
                        message=f"Someone replied to your post ({n}).", created=created,
                        email=True, email_status=Message.EmailStatus.DIGEST, email_due_at=window_end,
                        published_at=created)
                for uid in ids[start : start + 1_000]
                for n in range(PER_USER)
            ],
            batch_size=1_000,
        )


def measure(users: int) -> dict:
    sink = Sink(keep_data=False).start()
    os.environ["BENCH_SMTP_PORT"] = str(sink.port)
    with bench_env.environment(database=True):
        from monitio.models import DigestRun, Message
        from monitio_tasks.tasks import send_digests

        t0 = time.monotonic()
        _load(users)
        print(f"loaded {users:,} users x {PER_USER} messages in {time.monotonic() - t0:.1f} s", flush=True)
        worker = harness.celery_worker(concurrency=2)
        try:
            started = time.monotonic()
            send_digests.delay()
            deadline = started + 600
            while DigestRun.objects.filter(sent_at__isnull=False).count() < users:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"digests not all sent: {worker.log.read_text()[-2000:]}")
                time.sleep(0.2)
            seconds = time.monotonic() - started
        finally:
            worker.stop()
            sink.stop()
        digested = Message.objects.filter(email_status=Message.EmailStatus.DIGESTED).count()
    per_user = Counter(r.rcpt_to[0] for r in sink.received)
    return {
        "users": users,
        "messages_per_user": PER_USER,
        "emails": len(sink.received),
        "recipients": len(per_user),
        "duplicates": sum(n - 1 for n in per_user.values()),
        "messages_digested": digested,
        "seconds": round(seconds, 2),
        "emails_per_s": round(len(sink.received) / seconds, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--users", type=int)
    args = parser.parse_args(argv)
    users = args.users or (1_000 if args.quick else 10_000)
    data = measure(users)
    print(
        f"DIGEST bench users={data['users']} emails={data['emails']} duplicates={data['duplicates']} "
        f"seconds={data['seconds']} emails_per_s={data['emails_per_s']}"
    )
    report.table(
        "Digest run (one window, real worker -c 2, SMTP sink)",
        ["users", "messages each", "e-mails sent", "duplicates", "messages digested", "seconds", "e-mails/s"],
        [[data["users"], PER_USER, data["emails"], data["duplicates"], data["messages_digested"],
          data["seconds"], data["emails_per_s"]]],
    )
    report.write("digest", data)


if __name__ == "__main__":
    main()
