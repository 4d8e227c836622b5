"""monitio's Celery tasks: decorators, delivery contract and ids only.

The work lives in plain functions under :mod:`monitio` (``delivery``, ``emails``,
``outbox``). Every task here:

* takes JSON-serialisable ids and values, never model instances;
* is idempotent (keyed by message UUIDs), so redelivery is safe;
* acknowledges late and is requeued if its worker dies (``acks_late``,
  ``reject_on_worker_lost``);
* retries transient failures (Redis, the database, SMTP) with exponential backoff
  and jitter, capped at ``RETRY_BACKOFF_MAX`` seconds, which must stay below the
  broker's ``visibility_timeout`` (``monitio_tasks.redis_transport_options``);
* fails at once, visibly, on permanent errors (a missing recipient, a refused e-mail,
  a message that breaks the caller's rules: see :func:`monitio.delivery.reject`),
  after delivering the other messages of its batch.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from celery import Task, shared_task
from celery.signals import task_prerun
from django.db import OperationalError as DatabaseOperationalError
from django.db import close_old_connections
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from monitio import (
    clock,
    delivery,
    digests,
    email_delivery,
    emails,
    outbox,
    purge,
    sweep,
)
from monitio._compat.celery import Call, coalesce
from monitio.spec import MessageSpec

#: A retry waits in its worker, unacknowledged, until its countdown ends: below the
#: recommended visibility timeout (45 s), or the broker would hand it out twice.
RETRY_BACKOFF_MAX = 30
TRANSIENT = (RedisConnectionError, RedisTimeoutError, DatabaseOperationalError)

#: Namespace of message ids derived from a ``create_message`` task's id.
TASK_MESSAGE_NAMESPACE = uuid.UUID("6f0f5c3e-3c49-4a51-9a3b-1f6f2f8d9a10")

DELIVERY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 1,
    "retry_backoff_max": RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    # With countdowns capped at RETRY_BACKOFF_MAX, 30 retries ride out a database or
    # Redis outage of up to about 13 minutes (jitter makes most waits shorter).
    "max_retries": 30,
}


@task_prerun.connect(weak=False)
def _check_connections(sender: Task | None = None, **kwargs: Any) -> None:
    """Before a monitio task, drop a database connection that is broken or older
    than ``CONN_MAX_AGE``, as Django does before a request. With
    ``CELERY_DB_REUSE_MAX`` Celery's Django fix-up keeps connections between tasks
    (docs/performance.md), and nothing else would replace a broken one."""
    if (
        sender is not None
        and sender.name.startswith("monitio_tasks.")
        and not getattr(sender.request, "is_eager", False)  # a test's transaction
    ):
        close_old_connections()


def _send_emails(message_ids: list[str]) -> None:
    for message_id in message_ids:
        send_email.delay(message_id)


def _deliver(message_payloads: list[dict[str, Any]]) -> None:
    """Deliver, and send the e-mail of what was delivered, also when some of the
    batch was not (then re-raise)."""
    try:
        message_ids = delivery.deliver(message_payloads)
    except delivery.Undelivered as exc:
        _send_emails(exc.emails)
        raise
    _send_emails(message_ids)


def _deliver_calls(calls: list[Call]) -> None:
    """Deliver the messages of many ``deliver`` calls at once (see :func:`coalesce`)."""
    _deliver([p for _, args, kwargs in calls for p in _deliver_payloads(*args, **kwargs)])


def _deliver_payloads(message_payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ``deliver`` call's payloads, whether passed by position or by name."""
    return message_payloads


def _deliver_slots(processes: int) -> int:
    """One batch at a time on SQLite: it has one writer, and a second batch would only
    wait for the lock in SQLite's busy handler, which sleeps in steps of 1 to 100 ms."""
    return 1 if delivery.single_writer() else processes


@shared_task(name="monitio_tasks.deliver", ignore_result=True, **DELIVERY)
def deliver(message_payloads: list[dict[str, Any]]) -> int:
    """Store, publish and (if asked) e-mail messages queued by a request."""
    _deliver(message_payloads)
    return len(message_payloads)


# With the Celery accelerator, the worker hands the ``deliver`` calls queued meanwhile
# to one process, which stores and publishes all their messages at once.
coalesce(deliver, _deliver_calls, _deliver_slots)


@shared_task(name="monitio_tasks.deliver_bulk", **DELIVERY)
def deliver_bulk(user_ids: list[Any], template: dict[str, Any]) -> int:
    """Store and publish one message for many users, in batches."""
    failed: list[delivery.Undelivered] = []
    for batch in delivery.bulk_payloads(user_ids, template):
        try:
            _deliver(batch)
        except delivery.Undelivered as exc:
            failed.append(exc)
    if failed:
        rejected = any(isinstance(exc, delivery.MessageRejected) for exc in failed)
        kind = delivery.MessageRejected if rejected else delivery.RecipientMissing
        raise kind(" ".join(str(exc) for exc in failed))
    return len(user_ids)


@shared_task(name="monitio_tasks.create_message", bind=True, **DELIVERY)
def create_message(
    self: Task,
    user_id: Any,
    level: int,
    message: str,
    from_user: Any = None,
    extra_tags: str = "",
    created: str | None = None,
    **options: Any,
) -> str:
    """Create a message for ``user_id`` from a job (arguments as :func:`monitio.create_message`,
    with ids for users; ``options`` are :class:`monitio.spec.MessageOptions`).

    The message id derives from the task id, so a redelivered task makes no duplicate.
    ``.delay`` checks the arguments in the caller; a message that still breaks the
    rules (sent by hand, or by an older caller) is rejected here, not retried.
    """
    message_id = task_message_id(self.request.id)
    try:
        payload = task_payload(
            message_id, user_id, level, message, from_user, extra_tags, created, options
        )
    except (TypeError, ValueError) as exc:  # InvalidMessage is a ValueError
        delivery.reject(str(message_id), user_id, str(exc))
        raise delivery.MessageRejected(f"Message {message_id} rejected: {exc}") from None
    _deliver([payload])
    return payload["id"]


def task_message_id(task_id: str | None) -> uuid.UUID:
    """The id of the message a ``create_message`` task creates."""
    return uuid.uuid5(TASK_MESSAGE_NAMESPACE, task_id or str(uuid.uuid4()))


def task_payload(
    message_id: uuid.UUID, user_id: Any, level: int, message: str, from_user: Any,
    extra_tags: str, created: str | None, options: dict[str, Any],
) -> dict[str, Any]:
    """The payload of a ``create_message`` task's message; raise ``InvalidMessage``
    (or ``TypeError`` for an unknown option)."""
    if created:
        options = {**options, "created": datetime.fromisoformat(created)}
    return MessageSpec(
        id=message_id, user_id=user_id, level=level, message=message,
        from_user_id=from_user, extra_tags=extra_tags, **options,
    ).to_payload()


class EmailTask(Task):
    """Record a final failure on the message, so the admin shows it."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        emails.mark_failed(args[0] if args else kwargs["message_id"], exc)


@shared_task(
    name="monitio_tasks.send_email",
    base=EmailTask,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(*TRANSIENT, *emails.TRANSIENT_ERRORS, emails.EmailBusy),
    retry_backoff=2,
    retry_backoff_max=RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=8,
)
def send_email(self: Task, message_id: str) -> str:
    """Send a message's e-mail at most once (where the backend allows)."""
    return emails.send(message_id, attempt=self.request.id or "")


@shared_task(name="monitio_tasks.publish_state", **DELIVERY)
def publish_state(user_id: Any, event: str, ids: list[str] | None) -> str:
    """Tell the user's open pages that messages were read, unread or deleted."""
    return delivery.publish_state(user_id, event, ids)


@shared_task(name="monitio_tasks.drain_outbox", acks_late=True, ignore_result=True)
def drain_outbox() -> int:
    """Send the tasks requests kept while the broker was unreachable."""
    return outbox.drain()


@shared_task(name="monitio_tasks.purge_expired", acks_late=True, ignore_result=True)
def purge_expired() -> int:
    """Delete expired messages in batches."""
    return purge.purge()


@shared_task(name="monitio_tasks.publish_unpublished", acks_late=True, ignore_result=True)
def publish_unpublished() -> int:
    """Publish stored messages whose own task never announced them."""
    return sweep.publish_unpublished()


@shared_task(name="monitio_tasks.send_due_emails", acks_late=True, ignore_result=True)
def send_due_emails() -> int:
    """Queue the e-mails whose delay (quiet hours, ``unread_after``) has ended."""
    message_ids = email_delivery.due(clock.now())
    _send_emails(message_ids)
    email_delivery.queued(message_ids)
    return len(message_ids)


@shared_task(name="monitio_tasks.send_digests", acks_late=True, ignore_result=True)
def send_digests() -> int:
    """Hand the digest windows that ended to ``send_digest_batch`` tasks, in batches."""
    windows = digests.due_windows()
    for start in range(0, len(windows), digests.BATCH):
        batch = windows[start : start + digests.BATCH]
        send_digest_batch.delay([[str(user), end.isoformat()] for user, end in batch])
    return len(windows)


@shared_task(
    name="monitio_tasks.send_digest_batch",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(*TRANSIENT, *emails.TRANSIENT_ERRORS),
    retry_backoff=2,
    retry_backoff_max=RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=8,
)
def send_digest_batch(self: Task, windows: list[list[str]]) -> int:
    """Send each (user id, window end) digest exactly once (see :mod:`monitio.digests`)."""
    return digests.send(
        [(user, datetime.fromisoformat(end)) for user, end in windows], attempt=self.request.id or ""
    )
