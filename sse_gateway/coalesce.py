"""Run one read-only Lua script for many greenlets in one Redis round trip.

A reconnect storm (every browser after a deploy) brings thousands of connects at
once, each needing one read (:data:`monitio.wire.CONNECT_SCRIPT`). Sent one by one,
each pays a pool checkout, a socket write, a timeout and a read of its own; here
the calls that arrive while a round trip is in flight wait for the next one, which
sends them all in one pipeline. A lone connect goes out at once, so the quiet case
keeps its latency.
"""

from __future__ import annotations

import hashlib
from typing import Any

import gevent
import redis
from gevent.event import AsyncResult

#: Calls per pipeline: Redis runs nothing else while it runs a script, so a batch
#: stays a few milliseconds of its time.
MAX_BATCH = 256


class ScriptCalls:
    """``EVALSHA_RO`` of one script, coalesced: :meth:`call` blocks the calling
    greenlet until its reply arrives."""

    def __init__(self, redis_client: redis.Redis, script: str) -> None:
        self._redis = redis_client
        self._script = script
        self._sha = hashlib.sha1(script.encode()).hexdigest()
        self._queue: list[tuple[list[str], list[Any], AsyncResult]] = []
        self._sending = False

    def call(self, keys: list[str], args: list[Any]) -> Any:
        """The script's reply for ``keys`` and ``args``; raises ``redis.RedisError``
        when Redis cannot answer."""
        reply = AsyncResult()
        self._queue.append((keys, args, reply))
        if not self._sending:
            self._sending = True
            gevent.spawn(self._send_all)
        return reply.get()

    def _send_all(self) -> None:
        # One greenlet at a time: while it waits for Redis, new calls queue up.
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                try:
                    replies = self._send(batch)
                except Exception as exc:  # noqa: BLE001 - each caller raises it
                    for *_, reply in batch:
                        reply.set_exception(exc)
                    continue
                for (*_, reply), value in zip(batch, replies):
                    if isinstance(value, Exception):
                        reply.set_exception(value)
                    else:
                        reply.set(value)
        finally:
            self._sending = False

    def _send(self, batch: list[tuple[list[str], list[Any], AsyncResult]]) -> list:
        replies = self._pipeline(batch)
        if any(isinstance(r, redis.exceptions.NoScriptError) for r in replies):
            # A restarted or flushed Redis: load the script, send the batch again.
            self._sha = self._redis.script_load(self._script)
            replies = self._pipeline(batch)
        return replies

    def _pipeline(self, batch: list[tuple[list[str], list[Any], AsyncResult]]) -> list:
        # EVALSHA_RO, not a registered Script (EVALSHA): Redis's ACL checks a
        # script's keys for write access unless the call is read-only.
        pipe = self._redis.pipeline(transaction=False)
        for keys, args, _ in batch:
            pipe.evalsha_ro(self._sha, len(keys), *keys, *args)
        return pipe.execute(raise_on_error=False)
