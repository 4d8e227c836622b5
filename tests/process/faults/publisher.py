"""Publish events at a steady rate from a thread, remembering every SSE id."""

from __future__ import annotations

import json
import threading
import time

import redis

from monitio import publish, wire
from monitio.conf import settings


class SteadyPublisher(threading.Thread):
    """Publish ``total`` ``message`` events round-robin over ``users`` at ``rate``/s.

    A Redis error (the server restarting) is retried after a short pause, and an
    event that did get in before the error is not published again, so every event is
    published exactly once. ``sent`` maps each user to its ids in publication order.
    """

    def __init__(self, users: list[int], total: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.users, self.total, self.rate = users, total, rate
        self.sent: dict[int, list[str]] = {u: [] for u in users}
        self.retries = 0
        self._failed: set[int] = set()

    def run(self) -> None:
        began = time.monotonic()
        for n in range(self.total):
            pause = began + n / self.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            user = self.users[n % len(self.users)]
            event_id = self._publish_once(user, n)
            self.sent[user].append(event_id)

    def _publish_once(self, user: int, n: int) -> str:
        """Publish event ``n``; after an error, first look whether it got in (the
        reply, not the write, may be what was lost), as an idempotent worker would."""
        while True:
            try:
                if n in self._failed:
                    found = _already_published(user, n)
                    if found:
                        return found
                return publish.publish(user, wire.MESSAGE, {"n": n})
            except redis.RedisError:
                self.retries += 1
                self._failed.add(n)
                publish.reset_client()
                time.sleep(0.05)

    def count(self) -> int:
        return sum(len(ids) for ids in self.sent.values())


def _already_published(user: int, n: int) -> str | None:
    """The SSE id of event ``n`` if the user's stream holds it (among the last few)."""
    client = publish.get_client()
    key = wire.user_stream_key(settings.KEY_PREFIX, user)
    for entry_id, fields in client.xrevrange(key, count=10):
        if json.loads(fields["d"]).get("n") == n:
            epoch = client.get(wire.epoch_key(settings.KEY_PREFIX))
            return wire.format_event_id(epoch, entry_id)
    return None
