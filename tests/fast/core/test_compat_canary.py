"""Canaries of the accelerators (monitio._compat): each fails loudly when an internal of
kombu or Celery that an accelerator relies on changes, so that a new release is
caught here before it breaks a site. They run with the accelerators on, whatever
MONITIO_TEST_ACCELERATORS says: they are about the accelerators."""

import inspect
import json
import logging

import celery
import django
import kombu
import pytest
from celery import signals as celery_signals
from celery.app import trace
from celery.worker import request as worker_request
from celery.worker import strategy as worker_strategy
from celery.worker.consumer import Consumer
from celery.worker.worker import WorkController
from django.core import checks
from kombu.transport import redis as kombu_redis

import monitio
from monitio import _compat, payloads, sending
from monitio._compat import celery as celery_accelerator
from monitio._compat import django as django_accelerator
from monitio._compat import kombu as kombu_accelerator
from monitio.models import Message
from monitio_tasks import tasks
from tests.celery_app import app as celery_app
from tests.fast.core.test_broker_send import decoded
from tests.waiting import wait_until

pytestmark = pytest.mark.usefixtures("accelerators_on")

def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


# -- versions -------------------------------------------------------------------------


def test_installed_releases_are_the_tested_ones():
    """A new kombu or Celery release: test the accelerators on it, then raise TESTED."""
    assert tuple(kombu.VERSION[:2]) == kombu_accelerator.TESTED
    assert tuple(celery.VERSION[:2]) == celery_accelerator.TESTED
    assert kombu_accelerator.available() and celery_accelerator.available()
    assert tuple(django.VERSION[:2]) in django_accelerator.TESTED
    assert django_accelerator.available()


def test_an_untested_release_falls_back_with_one_warning_and_a_check(caplog, monkeypatch):
    monkeypatch.setattr(_compat, "_warned", set())
    monkeypatch.setattr(kombu, "VERSION", (6, 0, 0))
    with caplog.at_level(logging.WARNING, logger="monitio"):
        assert not kombu_accelerator.available()
        assert not kombu_accelerator.available()
    assert [r.getMessage() for r in caplog.records] == [
        "monitio's kombu accelerator was tested with kombu 5.7.x, not 6.0.0: "
        "monitio uses the public path instead."
    ]
    assert [m.id for m in checks.run_checks() if m.id.startswith("monitio.W02")] == [
        "monitio.W020"
    ]


def test_turned_off_there_is_no_warning(settings, monkeypatch):
    settings.MONITIO = {**settings.MONITIO, "ACCELERATORS": {"kombu": False}}
    monkeypatch.setattr(kombu, "VERSION", (6, 0, 0))
    assert not kombu_accelerator.available() and celery_accelerator.available()
    assert not [m for m in checks.run_checks() if m.id.startswith("monitio.W02")]


# -- kombu: the message written by hand -----------------------------------------------


def test_kombu_internals_the_sender_uses_exist():
    assert parameters(celery_app.amqp.as_task_v2)[:4] == ["task_id", "name", "args", "kwargs"]
    assert {"time_limit", "soft_time_limit", "ignore_result", "argsrepr", "kwargsrepr"} <= set(
        parameters(celery_app.amqp.as_task_v2)
    )
    assert isinstance(tasks.deliver._get_exec_options(), dict)
    assert parameters(celery_app.amqp.router.route)[:4] == ["options", "name", "args", "kwargs"]
    assert isinstance(celery_app.thread_oid, str)
    # kombu's Redis transport: one LPUSH of the JSON message per publish.
    assert "lpush" in inspect.getsource(kombu_redis.Channel._put)


def test_the_message_written_is_the_one_kombu_writes(transactional_db, broker_client):
    payload = payloads.build(user_id=1, level=monitio.INFO, message="same message")
    wait = kombu_accelerator.start(tasks.deliver, [[payload]])
    assert wait is not None
    wait()
    tasks.deliver.apply_async(args=[[payload]], argsrepr="(...)", kwargsrepr="{}")
    ours, kombus = (decoded(raw) for raw in broker_client.lrange("celery", 0, -1)[::-1])
    assert ours == kombus
    assert ours["body"][0] == [[payload]]


def test_sent_from_a_task_it_names_its_parent_as_kombu_does(transactional_db, broker_client):
    """The outbox is drained from a task: its sends carry that task as their parent."""
    parent = tasks.drain_outbox._get_current_object()
    parent.push_request(id="parent-id", root_id="root-id", called_directly=False)
    celery_app = parent.app
    # Celery's task stack is where ``current_worker_task`` comes from, in a worker.
    from celery._state import _task_stack

    _task_stack.push(parent)
    try:
        payload = payloads.build(user_id=1, level=monitio.INFO, message="from a task")
        kombu_accelerator.start(tasks.deliver, [[payload]])()
        tasks.deliver.apply_async(args=[[payload]], argsrepr="(...)", kwargsrepr="{}")
    finally:
        _task_stack.pop()
        parent.pop_request()
    assert celery_app.current_worker_task is None
    ours, kombus = (decoded(raw) for raw in broker_client.lrange("celery", 0, -1)[::-1])
    assert ours == kombus
    assert (ours["headers"]["parent_id"], ours["headers"]["root_id"]) == ("parent-id", "<per send>")
    assert json.loads(broker_client.lindex("celery", 1))["headers"]["root_id"] == "root-id"


@pytest.fixture
def kombu_only(settings):
    """The Celery accelerator off: its batches run no task signals (see
    monitio._compat.celery), and this compares the requests ``task_prerun`` gets."""
    settings.MONITIO = {**settings.MONITIO, "ACCELERATORS": {"celery": False}}


def test_a_real_worker_runs_the_message_as_it_runs_apply_asyncs(kombu_only, worker, alice):
    """What the worker makes of each message: the task request, field by field."""
    seen = []

    def record(sender=None, task_id=None, task=None, args=None, kwargs=None, **extra):
        request = task.request
        seen.append({
            "args": args, "kwargs": kwargs,
            **{key: getattr(request, key, None) for key in (
                "delivery_info", "eta", "expires", "retries", "timelimit", "ignore_result",
                "is_eager", "parent_id", "reply_to", "argsrepr", "kwargsrepr", "origin",
                "priority", "group", "chord", "callbacks", "errbacks", "stamps",
            )},
            "root_is_self": request.root_id == task_id,
        })

    celery_signals.task_prerun.connect(record, weak=False)
    try:
        first = payloads.build(user_id=alice.pk, level=monitio.INFO, message="one")
        kombu_accelerator.start(tasks.deliver, [[first]])()
        wait_until(lambda: len(seen) == 1, message="the accelerator's message run")
        second = payloads.build(user_id=alice.pk, level=monitio.INFO, message="two")
        tasks.deliver.apply_async(args=[[second]], argsrepr="(...)", kwargsrepr="{}")
        wait_until(lambda: len(seen) == 2, message="apply_async's message run")
    finally:
        celery_signals.task_prerun.disconnect(record)
    ours, celerys = seen
    assert ours["args"] == [[first]] and celerys["args"] == [[second]]
    ours["args"] = celerys["args"] = None
    assert ours == celerys
    wait_until(lambda: Message.objects.count() == 2, message="both stored")


def test_sending_takes_the_accelerator_and_apply_async_without_it(
    transactional_db, broker_client, settings, monkeypatch
):
    calls = []
    monkeypatch.setattr(type(tasks.deliver._get_current_object()), "apply_async",
                        lambda self, *a, **k: calls.append("apply_async"))
    payload = payloads.build(user_id=1, level=monitio.INFO, message="x")
    sending.send(tasks.deliver, [[payload]])
    assert calls == [] and broker_client.llen("celery") == 1
    settings.MONITIO = {**settings.MONITIO, "ACCELERATORS": False}
    sending.send(tasks.deliver, [[payload]])
    assert calls == ["apply_async"] and broker_client.llen("celery") == 1


# -- Celery: the worker's hand-off to the pool ----------------------------------------


def test_celery_internals_the_coalescing_pool_uses_exist():
    assert parameters(Consumer._limit_task) == ["self", "request", "bucket", "tokens"]
    assert parameters(Consumer._limit_post_eta) == ["self", "request", "bucket", "tokens"]
    assert parameters(Consumer._schedule_bucket_request) == ["self", "bucket"]
    assert parameters(Consumer._limit_move_to_pool) == ["self", "request"]
    assert parameters(Consumer.apply_eta_task) == ["self", "task"]
    assert parameters(WorkController._process_task) == ["self", "req"]
    # The default strategy takes these from the consumer: the proxy supplies them.
    source = inspect.getsource(worker_strategy.default)
    for name in ("consumer.on_task_request", "consumer._limit_task", "consumer._limit_post_eta",
                 "consumer.apply_eta_task", "consumer.pool"):
        assert name in source, name
    # The tracer's arguments (what run_batch decodes) and its success tuple.
    assert parameters(trace.trace_task_ret)[:6] == [
        "name", "uuid", "request", "body", "content_type", "content_encoding"
    ]
    assert "return (1, R, T) if I else (0, Rstr, T)" in inspect.getsource(trace.trace_task_ret)
    # The pool's callback keywords, which CoalescingPool forwards per request.
    source = inspect.getsource(worker_request.Request.execute_using_pool)
    for keyword in ("accept_callback", "timeout_callback", "callback", "error_callback",
                    "soft_timeout", "timeout", "correlation_id"):
        assert f"{keyword}=" in source, keyword


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_real_worker_coalesces_queued_deliver_tasks(
    transactional_db, redis_client, broker_client, alice
):
    from celery.contrib.testing.worker import start_worker

    for i in range(40):
        tasks.deliver.delay([payloads.build(user_id=alice.pk, level=monitio.INFO, message=f"m{i}")])
    records = Records()  # the worker's logging set-up keeps these from pytest's caplog
    logger = logging.getLogger("monitio")
    logger.addHandler(records)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False,
                          shutdown_timeout=30):
            wait_until(lambda: Message.objects.count() == 40, timeout=60, message="40 stored")
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    assert celery_app.tasks[tasks.deliver.name].Strategy == celery_accelerator.STRATEGY
    batches = [m for m in records.messages if "as one batch" in m]
    assert batches, "no batch formed: the Celery accelerator did not take the hand-off"


# -- Django: the storage's loaded messages ----------------------------------------------


def test_django_internals_the_storage_accelerator_uses_exist():
    """``BaseStorage`` caches what ``_get`` returned in ``_loaded_data``, and its
    ``update`` re-stores an unread storage as ``_loaded_messages + _queued_messages``:
    the accelerator fills that cache, so ``_get`` is not called for it."""
    from django.contrib.messages.storage.base import BaseStorage

    loaded = inspect.getsource(BaseStorage._loaded_messages.fget)
    assert 'hasattr(self, "_loaded_data")' in loaded and "self._get()" in loaded
    update = inspect.getsource(BaseStorage.update)
    assert "elif self.added_new:" in update
    assert "self._loaded_messages + self._queued_messages" in update


def test_an_untested_django_falls_back_with_a_check(monkeypatch):
    monkeypatch.setattr(_compat, "_warned", set())
    monkeypatch.setattr(django, "VERSION", (7, 0, 0, "final", 0))
    assert not django_accelerator.available()
    assert [m.id for m in checks.run_checks() if m.id.startswith("monitio.W02")] == [
        "monitio.W022"
    ]
