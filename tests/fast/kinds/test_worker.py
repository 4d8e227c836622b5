"""With a real Celery worker and Redis: a kind turned off for e-mail is stored and
published but not e-mailed, and preferences cost one query per batch, not per message.

Printed::

    KINDS worker messages=60 deliver_tasks=3 preference_queries=…
"""

from __future__ import annotations

import contextlib
import json

import pytest
from celery.signals import task_prerun
from django.db import transaction
from django.db.backends.signals import connection_created

import monitio
from monitio import preferences, wire
from monitio.models import Message, Preference
from monitio_tasks import tasks as tasks_module
from tests.waiting import wait_until

PREFIX = "monitio-test"


@pytest.fixture
def preference_queries():
    """SQL on the preferences table run by any thread (the worker's included), from
    each database connection opened after this fixture."""
    seen: list[str] = []
    wrappers = contextlib.ExitStack()

    def count(execute, sql, params, many, context):
        if Preference._meta.db_table in sql:
            seen.append(sql)
        return execute(sql, params, many, context)

    watched: set[int] = set()

    def watch(sender, connection, **kwargs):
        # Once per connection object: one that reconnects (Django closes a worker's
        # connection after each task) sends connection_created again.
        if id(connection) not in watched:
            watched.add(id(connection))
            wrappers.enter_context(connection.execute_wrapper(count))

    connection_created.connect(watch, weak=False)
    yield seen
    connection_created.disconnect(watch)
    wrappers.close()


def events(redis_client, user) -> list[dict]:
    return [json.loads(f["d"]) for _, f in redis_client.xrange(wire.user_stream_key(PREFIX, user.pk))]


def test_email_off_stores_and_publishes_but_sends_no_email(worker, alice, bob, redis_client, mailoutbox):
    preferences.change(alice, {("comment", "email"): False})
    with transaction.atomic(), monitio.batch():
        for user in (alice, bob):
            monitio.create_message(user, monitio.INFO, f"comment for {user}", kind="comment", email=True)
        monitio.create_message(alice, monitio.WARNING, "new login", kind="security", email=True)
    wait_until(lambda: len(mailoutbox) == 2, message="bob's comment and alice's alert e-mailed")
    rows = {m.message: m for m in Message.objects.all()}
    assert len(rows) == 3 and all(m.published_at is not None for m in rows.values())
    assert rows["comment for alice"].email_status == Message.EmailStatus.OPTED_OUT
    assert {m.kind for m in rows.values()} == {"comment", "security"}
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]
    alice_mail = next(m for m in mailoutbox if m.to == ["alice@example.com"])
    assert "new login" in alice_mail.body
    assert {e["message"] for e in events(redis_client, alice)} == {"comment for alice", "new login"}
    assert [e["message"] for e in events(redis_client, bob)] == ["comment for bob"]


def test_preferences_cost_one_query_per_batch(
    preference_queries, worker, alice, bob, redis_client, broker_client
):
    preferences.change(alice, {("comment", "inbox"): False})
    preference_queries.clear()  # the test's own
    runs: list[str] = []  # deliver runs: a task retried (say, on a lock) runs again

    def count_run(sender=None, task_id=None, **kwargs):
        if sender is not None and sender.name == tasks_module.deliver.name:
            runs.append(task_id)

    task_prerun.connect(count_run, weak=False)
    tasks, per_task = 3, 20
    for t in range(tasks):
        with transaction.atomic(), monitio.batch():
            for i in range(per_task):
                user, kind = (alice, bob)[i % 2], ("comment", "newsletter", None)[i % 3]
                monitio.create_message(user, monitio.INFO, f"{t}-{i}", kind=kind)
    total = tasks * per_task
    wait_until(lambda: Message.objects.filter(published_at__isnull=False).count() == total)
    # Every task acknowledged (a task sent twice runs twice), then count.
    wait_until(lambda: not broker_client.llen("celery") and not broker_client.hlen("unacked"),
               message="the broker empty")
    task_prerun.disconnect(count_run)
    print(f"KINDS worker messages={total} deliver_tasks={tasks} deliver_runs={len(runs)} "
          f"preference_queries={len(preference_queries)}")
    # one per deliver batch: fewer when the worker coalesces tasks (coalesced batches
    # send no per-task signals), one more for each run a retry adds
    assert 1 <= len(preference_queries) <= max(tasks, len(runs))
    muted = Message.objects.filter(user=alice, kind="comment")
    assert muted.exists() and all(m.read for m in muted)
    assert Message.objects.filter(user=bob, kind="newsletter", read=False).exists()
    alice_events = events(redis_client, alice)
    assert alice_events and not {e["id"] for e in alice_events} & {str(m.pk) for m in muted}


def test_one_click_unsubscribe_stops_the_next_email(worker, alice, redis_client, mailoutbox):
    from django.test import Client

    with transaction.atomic():
        monitio.create_message(alice, monitio.INFO, "first comment", kind="comment", email=True)
    (first,) = wait_until(lambda: list(mailoutbox))
    url = first.extra_headers["List-Unsubscribe"].strip("<>")
    assert first.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    response = Client(enforce_csrf_checks=True).post(url, "List-Unsubscribe=One-Click",
                                                     content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    with transaction.atomic():
        second = monitio.create_message(alice, monitio.INFO, "second comment", kind="comment", email=True)
        monitio.create_message(alice, monitio.INFO, "kind-less", email=True)
    wait_until(lambda: len(mailoutbox) == 2, message="the kind-less message e-mailed")
    row = wait_until(lambda: Message.objects.filter(pk=second, published_at__isnull=False).first())
    assert row.email_status == Message.EmailStatus.OPTED_OUT
    assert [m.body.count("kind-less") for m in mailoutbox] == [0, 1]
    assert "second comment" in {e["message"] for e in events(redis_client, alice)}
