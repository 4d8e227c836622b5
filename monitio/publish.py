"""Publish live events to Redis, following the contract in :mod:`monitio.wire`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import redis
from redis.exceptions import NoScriptError

from . import wire
from .conf import settings

_client: redis.Redis | None = None
#: SHA1 of :data:`wire.PUBLISH_SCRIPT`: called with EVALSHA, loaded only when missing.
_SCRIPT_SHA = hashlib.sha1(wire.PUBLISH_SCRIPT.encode()).hexdigest()


def get_client() -> redis.Redis:
    """Return the process's Redis client, built on first use from ``REDIS_URL``."""
    global _client
    if _client is None:
        if not settings.REDIS_URL:
            from .exceptions import MonitioConfigurationError

            raise MonitioConfigurationError('Set MONITIO["REDIS_URL"] to your Redis server.')
        _client = redis.Redis.from_url(
            settings.REDIS_URL, decode_responses=True, socket_timeout=5,
            socket_connect_timeout=2, health_check_interval=30,
        )
    return _client


def reset_client() -> None:
    """Drop the cached client (after a fork, or when a test changes ``REDIS_URL``)."""
    global _client
    if _client is not None:
        _client.close()
    _client = None


def _run_script(calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
    """Run :data:`wire.PUBLISH_SCRIPT` once per ``(keys, args)`` in one pipeline.

    EVALSHA first (redis-py's ``Script`` would add a ``SCRIPT EXISTS`` round trip to
    every pipeline); calls refused with NOSCRIPT (a restarted or flushed Redis) run
    again once the script is loaded. No other call runs twice.
    """
    client = get_client()

    def pipeline(indexes: list[int]) -> list[Any]:
        pipe = client.pipeline(transaction=False)
        for i in indexes:
            keys, args = calls[i]
            pipe.evalsha(_SCRIPT_SHA, len(keys), *keys, *args)
        return pipe.execute(raise_on_error=False)

    results = pipeline(list(range(len(calls))))
    missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
    if missing:
        client.script_load(wire.PUBLISH_SCRIPT)
        for i, result in zip(missing, pipeline(missing)):
            results[i] = result
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


Event = tuple[Any, str, Any]


def publish_many(events: Iterable[Event], once_keys: Iterable[str] | None = None) -> list[str | None]:
    """Publish ``(user_id, event, data)`` triples in one pipeline; return their SSE ids.

    With ``once_keys`` (one per event, e.g. message ids), an event whose key was
    already published is skipped and its id is ``None``. Events go to Redis
    :data:`~monitio.wire.PUBLISH_BATCH` to a script call.
    """
    prefix = settings.KEY_PREFIX
    calls: list[tuple[list[str], list[Any]]] = []
    head_keys = [wire.epoch_key(prefix), wire.fanout_key(prefix)]
    head_args = [
        wire.new_epoch(), settings.HISTORY_MAXLEN, settings.HISTORY_TTL,
        settings.FANOUT_MAXLEN, wire.SENT_TTL,
    ]
    once = iter(once_keys) if once_keys is not None else None
    keys, args = list(head_keys), list(head_args)
    for user_id, event, data in events:
        marker = next(once) if once is not None else None
        keys += [wire.user_stream_key(prefix, user_id), wire.sent_key(prefix, marker or "")]
        payload = data if isinstance(data, str) else wire.dumps(data)
        args += [event, payload, user_id, "1" if marker else "0"]
        if len(keys) - 2 == 2 * wire.PUBLISH_BATCH:
            calls.append((keys, args))
            keys, args = list(head_keys), list(head_args)
    if len(keys) > 2:
        calls.append((keys, args))
    if not calls:
        return []
    ids: list[str | None] = []
    for epoch, *entries in _run_script(calls):
        ids += [wire.format_event_id(epoch, entry) if entry else None for entry in entries]
    return ids


def publish(user_id: Any, event: str, data: Any) -> str:
    """Publish one event to ``user_id``'s streams; return its SSE id."""
    event_id = publish_many([(user_id, event, data)])[0]
    assert event_id is not None
    return event_id


def revoke(user_id: Any, session: str | None, at: int) -> None:
    """Void ``user_id``'s stream tokens issued before ``at`` (one session, or all) and
    tell every gateway to close the matching open streams."""
    prefix = settings.KEY_PREFIX
    client = get_client()
    pipe = client.pipeline(transaction=False)
    pipe.hset(wire.revoked_key(prefix, user_id), session or wire.ALL_SESSIONS, at)
    pipe.expire(wire.revoked_key(prefix, user_id), settings.STREAM_TOKEN_MAX_AGE + 60)
    pipe.xadd(
        wire.fanout_key(prefix),
        wire.revoke_entry(user_id, session),
        maxlen=settings.FANOUT_MAXLEN, approximate=True,
    )
    pipe.execute()


def count_rejected(message_id: str, reason: str) -> None:
    """Record a message the worker could not store in the hash ``<KEY_PREFIX>:rejected``
    (message id to reason, at most 500 characters): ``HLEN`` counts them."""
    get_client().hset(wire.rejected_key(settings.KEY_PREFIX), message_id, reason[:500])


def current_event_id(user_id: Any) -> str:
    """Return the SSE id of ``user_id``'s latest event (a page hands it to the client
    as ``last_event_id`` so nothing published after rendering is missed)."""
    prefix = settings.KEY_PREFIX
    client = get_client()
    pipe = client.pipeline(transaction=False)
    pipe.set(wire.epoch_key(prefix), wire.new_epoch(), nx=True)
    pipe.get(wire.epoch_key(prefix))
    pipe.xrevrange(wire.user_stream_key(prefix, user_id), count=1)
    _, epoch, last = pipe.execute()
    entry = last[0][0] if last else wire.ZERO_ENTRY
    return wire.format_event_id(epoch, entry)
