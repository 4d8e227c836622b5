"""The request's send to the broker: one Redis command, the outbox when the broker is
down, and ``apply_async`` whenever the kombu accelerator cannot be sure to match it
(its message is kombu's: tests/fast/core/test_compat_canary.py)."""

import json
import subprocess

import pytest
from celery import Celery
from celery.signals import before_task_publish

import monitio
from monitio import enqueue, payloads, sending
from monitio._compat.kombu import RedisQueueSender
from monitio.carry import COOKIE_NAME as CARRY_COOKIE_NAME
from monitio.models import Message, PendingTask
from monitio_tasks import tasks
from tests import procs
from tests.celery_app import app as test_celery_app
from tests.fast.core.test_storage import shown, task_body

#: Fields that differ between any two sends of the same task.
PER_SEND = {("headers", "id"), ("headers", "root_id"), ("properties", "correlation_id"),
            ("properties", "delivery_tag")}


def decoded(raw: bytes) -> dict:
    message = json.loads(raw)
    message["body"] = task_body(raw)
    for part, key in PER_SEND:
        message[part][key] = "<per send>"
    return message


@pytest.fixture
def private_broker():
    """A Redis server of this test's own as the broker, through a Celery app of its
    own, current for the test (monitio's shared tasks send through the current app)."""
    import redis

    port = procs.free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    procs.wait_for_port(port, proc=server)
    app = Celery("private-broker", set_as_current=True)
    app.set_default()  # for the threads of a test too
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis(port=port)
    try:
        yield server, client
    finally:
        client.close()
        test_celery_app.set_current()
        test_celery_app.set_default()
        app.pool.force_close_all()
        if server.poll() is None:
            server.terminate()
            server.wait()


def commands_processed(client) -> int:
    return int(client.info("stats")["total_commands_processed"])


def test_ten_messages_are_one_redis_command(transactional_db, alice_client, private_broker):
    _, client = private_broker
    alice_client.get(f"/add/?level={monitio.INFO}&n=1")  # connect first
    before = commands_processed(client)
    alice_client.get(f"/add/?level={monitio.INFO}&n=10")
    assert commands_processed(client) - before - 1 == 1  # the INFO above counts itself
    assert client.llen("celery") == 2
    (batch,) = decoded(client.lindex("celery", 0))["body"][0]
    assert [p["message"] for p in batch] == [f"hello {i}" for i in range(10)]


def test_broker_down_keeps_the_batch_in_the_outbox(transactional_db, alice, alice_client, private_broker):
    server, _ = private_broker
    server.terminate()
    server.wait()
    response = alice_client.get(f"/add/?level={monitio.INFO}&text=kept&n=3")
    assert response.status_code == 302
    (row,) = PendingTask.objects.all()
    assert row.task == "monitio_tasks.deliver"
    assert [p["message"] for p in row.args[0]] == ["kept 0", "kept 1", "kept 2"]
    assert Message.objects.count() == 0
    # The user still sees them on the next page, carried in the cookie.
    assert alice_client.cookies[CARRY_COOKIE_NAME].value
    assert shown(alice_client.get("/page/")) == ["kept 0", "kept 1", "kept 2"]


def test_a_dropped_connection_is_reopened(transactional_db, alice_client, private_broker):
    _, client = private_broker
    alice_client.get(f"/add/?level={monitio.INFO}")
    client.client_kill_filter(_type="normal", skipme=True)  # the server drops our connection
    alice_client.get(f"/add/?level={monitio.INFO}")
    assert client.llen("celery") == 2
    assert PendingTask.objects.count() == 0


def test_rolled_back_messages_send_nothing(transactional_db, alice_client, private_broker):
    _, client = private_broker
    alice_client.get("/add-then-fail/?n=5")
    assert client.llen("celery") == 0 and PendingTask.objects.count() == 0


def test_publish_signal_receivers_get_apply_async(transactional_db, broker_client):
    seen = []

    def receiver(sender=None, headers=None, **kwargs):
        seen.append(headers["task"])

    before_task_publish.connect(receiver)
    try:
        sending.send(tasks.deliver, [[payloads.build(user_id=1, level=monitio.INFO, message="x")]])
    finally:
        before_task_publish.disconnect(receiver)
    assert seen == ["monitio_tasks.deliver"]
    assert broker_client.llen("celery") == 1


@pytest.mark.parametrize(
    "conf",
    [
        {"broker_url": "amqp://guest@127.0.0.1//"},
        {"task_routes": {"monitio_tasks.*": {"queue": "monitio"}}},
        {"task_compression": "gzip"},
        {"task_default_priority": 5},
        {"task_inherit_parent_priority": True},
        {"task_serializer": "pickle"},
        {"task_protocol": 1},
        {"broker_transport_options": {"global_keyprefix": "site:"}},
        {"broker_url": "redis://127.0.0.1:1/0;redis://127.0.0.1:2/0"},
    ],
    ids=lambda conf: next(iter(conf)),
)
def test_anything_but_a_plain_redis_queue_goes_through_kombu(conf):
    app = Celery("other", set_as_current=False)
    app.conf.update({"broker_url": "redis://127.0.0.1:6379/0", **conf})
    assert RedisQueueSender._build(app) is None


def test_a_plain_redis_broker_gets_the_fast_path():
    app = Celery("plain", set_as_current=False)
    app.conf.update(broker_url="redis://:secret@127.0.0.1:6390/3")
    sender = RedisQueueSender._build(app)
    assert sender is not None
    assert {k: sender.connection_kwargs[k] for k in ("host", "port", "db", "password")} == {
        "host": "127.0.0.1", "port": 6390, "db": 3, "password": "secret",
    }


def batch(text: str) -> list:
    return [[payloads.build(user_id=1, level=monitio.INFO, message=text)]]


def test_work_inside_the_send_overlaps_it_and_an_error_there_still_sends(transactional_db, private_broker):
    _, client = private_broker
    with pytest.raises(RuntimeError), enqueue.enqueued(tasks.deliver, batch("a")):
        raise RuntimeError("the view's response failed")
    enqueue.enqueue(tasks.deliver, batch("b"))  # the connection is in step
    assert [decoded(raw)["body"][0][0][0]["message"] for raw in client.lrange("celery", 0, -1)] == ["b", "a"]
    assert PendingTask.objects.count() == 0


def test_broker_lost_before_it_answered_keeps_the_task(transactional_db, private_broker, accelerators_on):
    server, client = private_broker
    enqueue.enqueue(tasks.deliver, batch("connect"))
    client.client_pause(60_000, all=False)  # write commands wait, unanswered
    with enqueue.enqueued(tasks.deliver, batch("lost?")):
        server.kill()
        server.wait()
    (row,) = PendingTask.objects.all()
    assert row.args[0][0]["message"] == "lost?"


def test_connection_dropped_during_the_overlap_is_sent_again(transactional_db, private_broker):
    _, client = private_broker
    enqueue.enqueue(tasks.deliver, batch("connect"))
    with enqueue.enqueued(tasks.deliver, batch("again")):
        client.client_kill_filter(_type="normal", skipme=True)
    texts = [decoded(raw)["body"][0][0][0]["message"] for raw in client.lrange("celery", 0, -1)]
    # Never lost; twice when the server ran the first LPUSH before dropping us (the
    # tasks are idempotent).
    assert texts[-1] == "connect" and set(texts[:-1]) == {"again"} and len(texts) in (2, 3)
    assert PendingTask.objects.count() == 0


def test_overlapping_sends_each_hold_a_connection(transactional_db, private_broker, accelerators_on):
    _, client = private_broker
    with (
        enqueue.enqueued(tasks.deliver, batch("outer")),
        enqueue.enqueued(tasks.deliver, batch("inner")),
    ):
        pass
    assert len(client.client_list()) == 3  # the two sends' connections, kept idle; ours
    texts = [decoded(raw)["body"][0][0][0]["message"] for raw in client.lrange("celery", 0, -1)]
    assert texts == ["inner", "outer"]


def test_concurrent_sends_are_all_sent(transactional_db, private_broker):
    import threading

    _, client = private_broker
    enqueue.enqueue(tasks.deliver, batch("outer"))
    enqueue.enqueue(tasks.deliver, batch("inner"))

    def send_some(n):
        for i in range(20):
            enqueue.enqueue(tasks.deliver, batch(f"t{n}-{i}"))

    threads = [threading.Thread(target=send_some, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    texts = [decoded(raw)["body"][0][0][0]["message"] for raw in client.lrange("celery", 0, -1)]
    assert texts[-2:] == ["inner", "outer"]
    assert sorted(texts[:-2]) == sorted(f"t{n}-{i}" for n in range(8) for i in range(20))
    assert PendingTask.objects.count() == 0
