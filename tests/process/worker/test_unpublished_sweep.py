"""A stored row whose task is gone for good is still announced (``monitio.sweep``).

The rows are what a ``deliver`` task leaves when it dies after its commit and is not
run again: stored, ``published_at`` empty. First the sweep itself against the real
Redis; then the Procfile's worker and beat processes do it.
"""

import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

import monitio
from monitio import delivery, sweep, wire
from monitio.models import Message
from tests import procs
from tests.waiting import wait_until

from . import procfile
from .test_worker_group_kill import PREFIX, announced


def stored_unpublished(user, text: str, *, age: timedelta, **fields) -> Message:
    """A row as a task that died after its commit leaves it, stored ``age`` ago."""
    row = Message.objects.create(user=user, level=monitio.INFO, message=text, **fields)
    Message.objects.filter(pk=row.pk).update(modified=timezone.now() - age)
    return row


def test_sweep_announces_old_unpublished_rows_once(transactional_db, redis_client):
    user = get_user_model().objects.create_user("swept", "swept@example.com")
    old = timedelta(minutes=10)
    lost = [stored_unpublished(user, f"lost-{i}", age=old) for i in range(3)]
    seen = stored_unpublished(user, "read meanwhile", age=old, read=True, read_at=timezone.now())
    expired = stored_unpublished(user, "expired", age=old, expires=timezone.now() - timedelta(seconds=1))
    running = stored_unpublished(user, "its task is still running", age=timedelta(seconds=1))
    # Announced, but its task died before it marked the row published.
    half = stored_unpublished(user, "announced, not marked", age=old)
    delivery.publish_rows([half])
    Message.objects.filter(pk=half.pk).update(published_at=None)

    assert sweep.publish_unpublished() == 4
    assert sweep.publish_unpublished() == 0
    events = announced(redis_client, [user])
    unpublished = set(Message.objects.filter(published_at__isnull=True).values_list("pk", flat=True))
    print(f"sweep rows=7 announced={len(events)} unpublished_left={len(unpublished)}")
    assert events == {str(m.pk) for m in (*lost, half)}
    assert unpublished == {expired.pk, running.pk}
    assert len(redis_client.xrange(wire.user_stream_key(PREFIX, user.pk))) == 4  # no second event
    assert Message.objects.get(pk=seen.pk).published_at is not None


def test_beat_process_publishes_rows_no_task_announced(transactional_db, redis_client, broker_client, tmp_path):
    users = [get_user_model().objects.create_user(f"s{i}", f"s{i}@example.com") for i in range(3)]
    rows = [stored_unpublished(users[i % 3], f"orphan-{i}", age=timedelta(minutes=5)) for i in range(30)]
    worker = procfile.start("worker", tmp_path / "worker.log", tmp_path)
    # Beat runs as its own process; a Procfile without one runs it in the worker (-B).
    beat = procfile.start("beat", tmp_path / "beat.log", tmp_path) if procfile.command("beat") else worker
    started = time.monotonic()
    try:
        pending = Message.objects.filter(published_at__isnull=True)
        try:
            wait_until(lambda: not pending.exists(), timeout=90, interval=0.5,
                       message="the sweep publishes the rows")
        except AssertionError:
            pass  # the counts below say what is left
        seconds = time.monotonic() - started
        events = announced(redis_client, users)
        print(f"R5 sweep orphan_rows={len(rows)} announced={len(events)} "
              f"unpublished_left={pending.count()} seconds_from_beat_start={seconds:.1f} "
              f"(sweep every 30 s, rows older than {sweep.UNPUBLISHED_AFTER.seconds} s)")
        assert events == {str(m.pk) for m in rows}
        assert not pending.exists()
        assert beat.poll() is None and worker.poll() is None
    finally:
        procs.stop(beat)
        procs.stop(worker)
