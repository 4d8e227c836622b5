"""kombu accelerator: a task message sent as the one ``LPUSH`` kombu's Redis transport makes.

kombu's own publish (``apply_async``) builds a Redis client per message; this sends
the same message over a kept connection, and lets the caller overlap the broker's
round trip with its own work (see :func:`monitio.enqueue.enqueued`). It writes
kombu's Redis message layout by hand and uses Celery's ``app.amqp.as_task_v2``,
``task._get_exec_options()``, ``app.amqp.router.route`` and ``app.thread_oid``:
internals, hence :data:`TESTED` and the canary tests in
``tests/fast/core/test_compat_canary.py``. Any set-up it cannot be sure to match
(another transport, task routes, publish signals, compression…) goes through
``apply_async``.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import kombu
from celery.signals import after_task_publish, before_task_publish
from kombu.utils.json import dumps
from redis.backoff import NoBackoff
from redis.connection import Connection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from . import usable

#: The kombu release (major, minor) this accelerator was tested with.
TESTED = (5, 7)


def available() -> bool:
    """Whether the accelerator is enabled and the installed kombu is :data:`TESTED`."""
    return usable("kombu", tuple(kombu.VERSION[:3]), TESTED)


def start(task: Any, args: list[Any]) -> Callable[[], None] | None:
    """Start sending ``task`` with ``args``; the callable returned waits for the
    broker's answer. ``None`` when the accelerator does not apply: use ``apply_async``.

    Both raise a ``RedisError`` or ``OSError`` when the broker is unreachable.
    """
    if not available() or before_task_publish.receivers or after_task_publish.receivers:
        return None
    task = task._get_current_object() if hasattr(task, "_get_current_object") else task
    sender = RedisQueueSender.for_app(task.app)
    template = sender.template(task) if sender is not None else None
    if template is None:
        return None
    return sender.start(template, args)


class _Template(NamedTuple):
    """The Redis list a task goes to and the message parts all its sends share."""

    queue: str
    headers: dict[str, Any]
    properties: dict[str, Any]
    embed: dict[str, Any]


class RedisQueueSender:
    """Send a task as the single ``LPUSH`` kombu's Redis transport makes for it.

    The message (Celery's task protocol 2 headers from ``app.amqp.as_task_v2``, a
    base64 JSON body, kombu's properties) is the one ``apply_async`` writes, so
    workers consume it unchanged. One instance per Celery app; its connections are
    kept idle between sends, one per concurrent send, and not shared with a fork.
    """

    _by_app: ClassVar[dict[int, RedisQueueSender | None]] = {}

    def __init__(self, app: Any, connection_kwargs: dict[str, Any]) -> None:
        self.app = app
        self.connection_kwargs = connection_kwargs
        self._templates: dict[tuple[str, int], _Template | None] = {}
        self._idle: list[Connection] = []  # LIFO; a send holds one until its reply
        self._pid = os.getpid()

    @classmethod
    def for_app(cls, app: Any) -> RedisQueueSender | None:
        """The sender for ``app``'s broker, or ``None`` unless it is plain Redis."""
        key = id(app)
        if key not in cls._by_app:
            cls._by_app[key] = cls._build(app)
        return cls._by_app[key]

    @classmethod
    def reset(cls) -> None:
        """Forget every sender (after the broker settings changed)."""
        cls._by_app.clear()

    @classmethod
    def _build(cls, app: Any) -> RedisQueueSender | None:
        conf = app.conf
        if (
            conf.task_protocol != 2
            or conf.task_serializer != "json"
            or conf.task_compression
            or conf.task_send_sent_event
            or conf.task_always_eager
            or conf.task_routes
            or conf.task_default_priority is not None
            or conf.task_inherit_parent_priority
            or conf.task_queue_max_priority
            or conf.broker_use_ssl
        ):
            return None
        connection = app.connection_for_write()
        try:
            options = connection.transport_options
            if connection.transport_cls != "redis" or connection.alt or any(
                key in options for key in ("global_keyprefix", "priority_steps", "sep")
            ):
                return None
            timeout = conf.broker_connection_timeout
            kwargs = {
                **parse_url(connection.as_uri(include_password=True)),
                "socket_connect_timeout": options.get("socket_connect_timeout", timeout),
                "socket_timeout": options.get("socket_timeout", timeout),
                "retry": Retry(NoBackoff(), 0),  # start() retries once itself
            }
        finally:
            connection.release()
        return cls(app, kwargs)

    def template(self, task: Any) -> _Template | None:
        """What every message of ``task`` shares, or ``None`` when kombu must route it.

        Built once per task and process by Celery itself (``as_task_v2``); a send
        then only fills in its ids and body.
        """
        key = (task.name, os.getpid())  # the "origin" header names the process
        if key not in self._templates:
            queue = self._route(task)
            self._templates[key] = None if queue is None else self._build_template(task, queue)
        return self._templates[key]

    def _route(self, task: Any) -> str | None:
        options = task._get_exec_options()
        if options.get("serializer") not in (None, "json") or any(
            options.get(key) is not None
            for key in ("queue", "routing_key", "exchange", "priority", "expires",
                        "compression", "delivery_mode")
        ):
            return None
        queue = self.app.amqp.router.route({}, task.name, None, None, task).get("queue")
        persistent = (queue.exchange.delivery_mode if queue is not None else None) or (
            self.app.conf.task_default_delivery_mode
        )
        if (
            queue is None
            or queue.exchange.type != "direct"
            or queue.queue_arguments
            or queue.max_priority
            or persistent not in (2, "persistent")
        ):
            return None
        return queue.name

    def _build_template(self, task: Any, queue: str) -> _Template:
        headers, properties, body, _ = self.app.amqp.as_task_v2(
            "", task.name, (), {},
            time_limit=task.time_limit,
            soft_time_limit=task.soft_time_limit,
            ignore_result=task.ignore_result,
            argsrepr="(...)",
            kwargsrepr="{}",
        )
        properties.update(
            argsrepr="(...)",
            kwargsrepr="{}",
            delivery_mode=2,
            delivery_info={"exchange": "", "routing_key": queue},
            priority=0,
            body_encoding="base64",
        )
        return _Template(queue, headers, properties, body[2])

    def start(self, template: _Template, args: list[Any]) -> Callable[[], None]:
        """Write the ``LPUSH`` of one task message; the callable returned reads its reply.

        Both raise a ``RedisError`` when the broker cannot be reached. The send
        holds its connection until the callable has run: call it exactly once.
        """
        task_id = str(uuid.uuid4())
        parent = self.app.current_worker_task
        parent_id = parent.request.id if parent else None
        root_id = (parent and (parent.request.root_id or parent_id)) or task_id
        message = {
            "body": base64.b64encode(dumps((args, {}, template.embed)).encode()).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {
                **template.headers, "id": task_id, "root_id": root_id, "parent_id": parent_id
            },
            "properties": {
                **template.properties,
                "correlation_id": task_id,
                "reply_to": self.app.thread_oid,
                "delivery_tag": str(uuid.uuid4()),
            },
        }
        key, value = template.queue, dumps(message)
        connection = self._checkout()
        try:
            try:
                connection.send_command("LPUSH", key, value)
            except (RedisConnectionError, RedisTimeoutError):
                # An idle connection may have been closed by the server meanwhile:
                # one fresh attempt. (Sent twice at worst; the tasks are idempotent.)
                connection.disconnect()
                connection.send_command("LPUSH", key, value)
        except BaseException:
            connection.disconnect()
            raise

        def wait() -> None:
            try:
                try:
                    connection.read_response()
                except (RedisConnectionError, RedisTimeoutError):
                    connection.disconnect()
                    connection.send_command("LPUSH", key, value)
                    connection.read_response()
            except BaseException:
                connection.disconnect()
                raise
            self._idle.append(connection)

        return wait

    def _checkout(self) -> Connection:
        """An idle connection of this process, or a new one (thread and greenlet safe)."""
        if self._pid != os.getpid():  # forked: the parent's sockets are not ours
            self._idle, self._pid = [], os.getpid()
        try:
            return self._idle.pop()
        except IndexError:
            return Connection(**self.connection_kwargs)
