"""Test a site's own code that sends messages, with no Redis, broker or worker.

::

    from monitio.testing import capture_messages

    with capture_messages() as outbox:
        client.post("/orders/42/ship/")
    [message] = outbox.to(bob)
    assert message.subject == "Shipped"
    outbox.deliver()                 # store the rows in-process, as a worker would

or, with pytest, ``pytest_plugins = ["monitio.testing"]`` in ``conftest.py`` and the
``monitio_outbox`` fixture. Every monitio task the code sends is kept in the
:class:`Outbox` instead of reaching the broker: the tasks a request or ``batch()``
sends, ``create_message(s)``, and ``create_message.delay`` from a job.

Why not ``CELERY_TASK_ALWAYS_EAGER``: an eager task runs in the caller, so it still
publishes to Redis, and with no Redis answering Celery's autoretry raises ``Retry``
into the view. :meth:`Outbox.deliver` runs the same tasks in-process through Celery's
``Task.apply``, without the live event unless ``live=True``.

Messages are sent when the transaction commits. In a test wrapped in a transaction
(pytest-django's ``django_db``, Django's ``TestCase``) that never happens, so the
outbox runs the commit callbacks registered meanwhile (Django's
``TestCase.captureOnCommitCallbacks``) each time it is read, as a commit would.
"""

from __future__ import annotations

import contextlib
import inspect
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from celery.signals import before_task_publish
from django.db import connections
from django.test import TestCase

from monitio_tasks import tasks

from . import delivery, payloads

#: The tasks whose sending is captured.
TASKS = (
    tasks.deliver,
    tasks.deliver_bulk,
    tasks.create_message,
    tasks.send_email,
    tasks.publish_state,
)
#: Tasks that only announce state changes live: skipped by ``deliver(live=False)``.
LIVE_ONLY = (tasks.publish_state,)


@dataclass(frozen=True)
class QueuedTask:
    """One task the code sent: its name and arguments, as the worker would get them."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True)
class QueuedMessage:
    """One message a queued task would store, with its recipient's id."""

    id: str
    user_id: Any
    level: int
    message: str
    subject: str = ""
    from_user_id: Any = None
    extra_tags: str = ""
    email: bool = False
    sse: bool = True
    url: str | None = None
    expires: str | None = None
    close_timeout: int | None = None
    group_key: str | None = None
    #: A translatable message's parameters (then ``message`` and ``subject`` are msgids).
    params: dict[str, Any] | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> QueuedMessage:
        full = payloads.expand(payload)
        return cls(
            id=full["id"], user_id=full["user"], level=full["level"],
            message=full["message"], subject=full["subject"],
            from_user_id=full["from_user"], extra_tags=full["extra_tags"],
            email=full["email"], sse=full["sse"], url=full["url"],
            expires=full["expires"], close_timeout=full["close_timeout"],
            group_key=full["group_key"],
            params=full["params"],
        )


class Outbox:
    """What the code under test sent; see the module's docstring."""

    def __init__(self) -> None:
        self._tasks: list[QueuedTask] = []
        self._commits = contextlib.ExitStack()
        self._active = False
        self._open = False
        self._delivered = 0  # tasks already run by deliver()

    @property
    def tasks(self) -> list[QueuedTask]:
        """Every captured task, oldest first."""
        self._run_commit_callbacks()
        return list(self._tasks)

    @property
    def messages(self) -> list[QueuedMessage]:
        """Every message the captured tasks would store, oldest first."""
        return [m for task in self.tasks for m in _messages(task)]

    def to(self, user: Any) -> list[QueuedMessage]:
        """The messages queued for ``user`` (a user or a user id)."""
        user_id = str(getattr(user, "pk", user))
        return [m for m in self.messages if str(m.user_id) == user_id]

    def clear(self) -> None:
        """Forget what was captured so far."""
        self._run_commit_callbacks()
        self._tasks.clear()
        self._delivered = 0

    def deliver(self, *, live: bool = False) -> int:
        """Run the captured tasks not run yet in-process, as a worker would: store
        the rows, send the e-mails (through Django's e-mail backend). Return the
        number of tasks run.

        ``live=False`` (the default) publishes no live event, so no Redis is
        needed; ``live=True`` also publishes, to ``MONITIO["REDIS_URL"]``. Tasks the
        delivered ones send in turn (e-mail) are captured and run too.
        """
        count = 0
        with self.capturing():
            while self._delivered < len(self.tasks):
                task = self._tasks[self._delivered]
                self._delivered += 1
                if not live and task.name in {t.name for t in LIVE_ONLY}:
                    continue
                args, kwargs = (task.args, task.kwargs) if live else ((), _quiet(task))
                _task(task.name).apply(args, kwargs, task_id=task.id, throw=True)
                count += 1
        return count

    @contextlib.contextmanager
    def capturing(self) -> Iterator[Outbox]:
        """Keep the monitio tasks sent in the block here instead of the broker."""
        if self._active:
            yield self
            return
        with contextlib.ExitStack() as stack:
            # A publish receiver makes the kombu accelerator (monitio._compat.kombu)
            # leave sending to apply_async, patched below.
            before_task_publish.connect(_ignore, weak=False)
            stack.callback(before_task_publish.disconnect, _ignore)
            for task in TASKS:
                recorder = self._recorder(task)
                stack.enter_context(mock.patch.object(task, "apply_async", recorder))
            self._active = True
            stack.callback(setattr, self, "_active", False)
            yield self

    def _recorder(self, task: Any) -> Any:
        def apply_async(args: Any = None, kwargs: Any = None, **options: Any) -> Any:
            queued = QueuedTask(task.name, tuple(args or ()), dict(kwargs or {}),
                                options.get("task_id") or str(uuid.uuid4()))
            self._tasks.append(queued)
            return task.AsyncResult(queued.id)

        return apply_async

    def _run_commit_callbacks(self, *, more: bool = True) -> None:
        """Run the commit callbacks registered since the last call, as a commit would
        (none outside :func:`capture_messages`); ``more``: watch for the next ones."""
        with self.capturing():
            self._commits.close()
            if more and self._open:
                for alias in connections:
                    self._commits.enter_context(
                        TestCase.captureOnCommitCallbacks(using=alias, execute=True)
                    )


@contextlib.contextmanager
def capture_messages(*, deliver: bool = False) -> Iterator[Outbox]:
    """Keep every monitio task sent in the block in an :class:`Outbox`, and run the
    block's commit callbacks at its end; ``deliver=True`` then delivers them too."""
    outbox = Outbox()
    with outbox.capturing():
        outbox._open = True
        outbox._run_commit_callbacks()
        try:
            yield outbox
        finally:
            outbox._open = False
            outbox._run_commit_callbacks(more=False)
        if deliver:
            outbox.deliver()


def _ignore(**kwargs: Any) -> None:
    """A ``before_task_publish`` receiver that does nothing (see capture_messages)."""


def _task(name: str) -> Any:
    """The captured task registered as ``name``."""
    return next(task for task in TASKS if task.name == name)


def _arguments(task: QueuedTask) -> dict[str, Any]:
    """The task's arguments by name (its ``**options`` among them)."""
    run = _task(task.name).run
    signature = inspect.signature(run)
    bound = signature.bind(*task.args, **task.kwargs)
    bound.apply_defaults()
    given = dict(bound.arguments)
    for name, parameter in signature.parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            given.update(given.pop(name))
    return given


def _messages(task: QueuedTask) -> list[QueuedMessage]:
    if task.name == tasks.deliver.name:
        return [QueuedMessage.from_payload(p) for p in _arguments(task)["message_payloads"]]
    if task.name == tasks.deliver_bulk.name:
        given = _arguments(task)
        return [
            QueuedMessage.from_payload(p)
            for batch in delivery.bulk_payloads(given["user_ids"], given["template"])
            for p in batch
        ]
    if task.name == tasks.create_message.name:
        given = _arguments(task)
        payload = tasks.task_payload(
            tasks.task_message_id(task.id), given.pop("user_id"), given.pop("level"),
            given.pop("message"), given.pop("from_user"), given.pop("extra_tags"),
            given.pop("created"), given,
        )
        return [QueuedMessage.from_payload(payload)]
    return []


def _quiet(task: QueuedTask) -> dict[str, Any]:
    """``task``'s arguments by name, with its live events turned off."""
    given = _arguments(task)
    if task.name == tasks.deliver.name:
        given["message_payloads"] = [
            {**p, "sse": False} for p in given["message_payloads"]
        ]
    elif task.name == tasks.deliver_bulk.name:
        given["template"] = {**given["template"], "sse": False}
    elif task.name == tasks.create_message.name:
        given["sse"] = False
    return given


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is optional
    pass
else:

    @pytest.fixture
    def monitio_outbox() -> Iterator[Outbox]:
        """An :class:`Outbox` capturing the test's monitio tasks (see the module)."""
        with capture_messages() as outbox:
            yield outbox
