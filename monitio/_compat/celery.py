"""Celery accelerator: coalesce a task's queued calls into one pool job.

A task given to :func:`coalesce` is executed by Celery's own strategy and request
machinery (ETA, revocation, rate limits, events, reserved/active bookkeeping are
unchanged). Only the hand-off to the pool differs: while every pool process is
busy, the worker (main process) holds the task's requests, and the next free
process gets all of them as **one** job, :func:`run_batch`, which calls the task's
``run_many`` once for the lot. When a process is free, a request goes at once (a
batch of one): batching adds no delay, it only forms under load ("group commit").

Each request keeps its own outcome, so ``acks_late`` and ``reject_on_worker_lost``
mean what they mean for a plain task:

* ``run_many`` succeeds: every request succeeds and is acknowledged.
* ``run_many`` raises: each request of the batch is then run on its own, as the pool
  would have run it (retry with backoff, failure, acknowledgement, per request).
  The task must be idempotent, since part of the batch may already be done.
* the pool process dies: every request of the batch gets the pool's
  ``WorkerLostError`` and is requeued (``reject_on_worker_lost``).

Unlike ``celery-batches`` there is no flush timer and no batch larger than what the
worker has prefetched: raise ``worker_prefetch_multiplier`` for larger batches.

This needs the worker's internals: the consumer's ``_limit_task``,
``_limit_post_eta``, ``_schedule_bucket_request``, ``_limit_move_to_pool`` and
``apply_eta_task`` run with a proxy ``self``, ``consumer.controller._process_task``,
the tracer's argument layout and success tuple, the pool's callback keywords; hence
:data:`TESTED` and the canary tests in ``tests/fast/core/test_compat_canary.py``. Without
it (turned off, or another Celery release) the task is an ordinary task: one pool
job per call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import MethodType
from typing import Any, NamedTuple

import celery
from celery import current_app
from celery.app.utils import Settings
from celery.signals import worker_init
from celery.worker.strategy import default as default_strategy
from django.db import close_old_connections
from kombu.serialization import loads, prepare_accept_content

from . import usable

logger = logging.getLogger("monitio")

#: The Celery release (major, minor) this accelerator was tested with.
TESTED = (5, 7)
#: Most requests handed to one pool job.
BATCH_MAX = 500
STRATEGY = "monitio._compat.celery:strategy"

#: One queued call of the task: ``(task id, args, kwargs)``.
Call = tuple[str, tuple, dict]


class Coalesced(NamedTuple):
    """How the calls of one task run together."""

    #: Does the work of the calls at once; raises to have each call run on its own.
    run_many: Callable[[list[Call]], None]
    #: How many batches may run at once, given the pool's number of processes.
    batch_slots: Callable[[int], int]


_coalesced: list[tuple[Any, Coalesced]] = []


def available() -> bool:
    """Whether the accelerator is enabled and the installed Celery is :data:`TESTED`."""
    return usable("celery", tuple(celery.VERSION[:3]), TESTED)


def coalesce(
    task: Any,
    run_many: Callable[[list[Call]], None],
    batch_slots: Callable[[int], int] = lambda processes: processes,
) -> None:
    """Let a worker run the queued calls of ``task`` together through ``run_many``,
    when the accelerator is available at the worker's start.

    ``task`` may be a ``shared_task`` not bound to an app yet: its name is read when
    a worker starts.
    """
    _coalesced.append((task, Coalesced(run_many, batch_slots)))


def _how(name: str) -> Coalesced:
    """How the calls of the task registered as ``name`` run together."""
    return next(how for task, how in _coalesced if task.name == name)


@worker_init.connect(weak=False)
def _install(sender: Any = None, **kwargs: Any) -> None:
    """At a worker's start: give the coalesced tasks this module's strategy, or
    Celery's own (``Task.Strategy``, a public attribute) when not available."""
    use = available()
    for coalesced, _ in _coalesced:
        task = sender.app.tasks.get(coalesced.name)
        if task is None:
            continue
        if use:
            task.Strategy = STRATEGY
        else:
            vars(task).pop("Strategy", None)


@dataclass
class _Job:
    """A request's hand-off to the pool, held back: the pool call and its callbacks."""

    target: Callable[..., Any]
    args: tuple
    options: dict[str, Any]

    def notify(self, name: str, *args: Any) -> None:
        callback = self.options.get(name)
        if callback is not None:
            callback(*args)


class CoalescingPool:
    """Stands in for the worker's pool in one task's requests (Celery's request class
    captures ``pool.apply_async``); forwards their jobs to the real pool in batches."""

    def __init__(self, pool: Any, name: str) -> None:
        self._pool = pool
        self._name = name
        self._slots = _how(name).batch_slots
        self._max = BATCH_MAX
        self._lock = threading.Lock()
        self._waiting: list[_Job] = []
        self._running = 0

    def apply_async(self, target: Callable[..., Any], args: tuple = (), kwargs: Any = None,
                    **options: Any) -> None:
        """Queue a request's job; send what is waiting if a pool process is free.

        Returns no result handle: a request is terminated through its process id.
        """
        with self._lock:
            self._waiting.append(_Job(target, tuple(args or ()), options))
        self._flush()

    def _flush(self) -> None:
        while True:
            with self._lock:
                if not self._waiting or self._running >= self._slots(self._pool.limit or 1):
                    return
                jobs, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
                self._running += 1
            try:
                self._submit(jobs)
            except Exception:  # the pool is closing: leave the messages unacknowledged
                with self._lock:
                    self._running -= 1
                    self._waiting[:0] = jobs
                logger.exception(
                    "Could not hand %d %s request(s) to the pool.", len(jobs), self._name
                )
                return

    def _submit(self, jobs: list[_Job]) -> None:
        def accepted(pid: int, time_accepted: float) -> None:
            for job in jobs:
                job.notify("accept_callback", pid, time_accepted)

        def succeeded(results: Any) -> None:
            if isinstance(results, list):
                self._finish(jobs, "callback", results)
            else:  # a thread pool reports a lost job here
                self._finish(jobs, "error_callback", [results] * len(jobs))

        def failed(exc_info: Any) -> None:
            self._finish(jobs, "error_callback", [exc_info] * len(jobs))

        def timed_out(soft: bool, timeout: float) -> None:
            for job in jobs:
                job.notify("timeout_callback", soft, timeout)

        # a batch may take as long as its requests' time limits added up
        timeouts = [j.options.get("timeout") for j in jobs]
        soft = [j.options.get("soft_timeout") for j in jobs]
        self._pool.apply_async(
            run_batch,
            args=(self._name, [(j.target, j.args) for j in jobs]),
            accept_callback=accepted,
            callback=succeeded,
            error_callback=failed,
            timeout_callback=timed_out,
            timeout=None if None in timeouts else max(timeouts) * len(jobs),
            soft_timeout=None if None in soft else max(soft) * len(jobs),
            correlation_id=jobs[0].options.get("correlation_id"),
        )

    def _finish(self, jobs: list[_Job], callback: str, outcomes: list[Any]) -> None:
        try:
            for job, outcome in zip(jobs, outcomes):
                try:
                    job.notify(callback, outcome)
                except Exception:
                    logger.exception("Callback of a %s request failed.", self._name)
        finally:
            with self._lock:
                self._running -= 1
            self._flush()


class _ConsumerWithPool:
    """The worker's consumer, with another pool, handing requests over ungated.

    A prefork worker gates requests with a semaphore of one slot per process, which
    each pool job releases when it ends: a batch job for many requests would leak
    slots, and the gate would never let a batch form. :class:`CoalescingPool` keeps
    its own count instead. The consumer's methods that lead a request to the pool
    (after an ETA, or a rate limit) run with this object as ``self``, so that they
    take the ungated way too.
    """

    _ROUTED = frozenset({"apply_eta_task", "_limit_task", "_limit_post_eta",
                         "_schedule_bucket_request", "_limit_move_to_pool"})

    def __init__(self, consumer: Any, pool: CoalescingPool) -> None:
        self._consumer, self.pool = consumer, pool
        self.on_task_request = consumer.controller._process_task

    def __getattr__(self, name: str) -> Any:
        if name in self._ROUTED:
            return MethodType(getattr(type(self._consumer), name), self)
        return getattr(self._consumer, name)


def strategy(task: Any, app: Any, consumer: Any, **kwargs: Any) -> Callable[..., Any]:
    """Celery's default strategy, its requests going through a :class:`CoalescingPool`."""
    pool = CoalescingPool(consumer.pool, task.name)
    return default_strategy(task, app, _ConsumerWithPool(consumer, pool), **kwargs)


def run_batch(name: str, jobs: list[tuple[Callable[..., Any], tuple]]) -> list[Any]:
    """In a pool process: run ``jobs`` through the task's ``run_many`` and return one
    success per job; if that raises, run each job as the pool would have."""
    app = current_app._get_current_object()
    started = time.monotonic()
    try:
        _run_many(app, name, jobs)
    except Exception:
        logger.warning("A batch of %d %s request(s) failed; running each on its own.",
                       len(jobs), name, exc_info=True)
        return [target(*args) for target, args in jobs]
    if len(jobs) > 1:
        logger.info("Ran %d %s requests as one batch.", len(jobs), name)
    return [(0, "None", time.monotonic() - started)] * len(jobs)


def _run_many(app: Any, name: str, jobs: list[tuple[Callable[..., Any], tuple]]) -> None:
    close_old_connections()  # as Celery's Django fix-up does around each task
    try:
        _how(name).run_many([_call(app.conf, args) for _, args in jobs])
    finally:
        close_old_connections()


def _call(conf: Settings, job_args: tuple) -> Call:
    """Decode a job's message body as Celery's tracer does: ``(id, args, kwargs)``."""
    _name, task_id, _request, body, content_type, content_encoding = job_args[:6]
    if content_type:
        accept = prepare_accept_content(conf.accept_content)
        args, kwargs, _embed = loads(body, content_type, content_encoding, accept=accept)
    else:
        args, kwargs, _embed = body
    return task_id, tuple(args), dict(kwargs)
