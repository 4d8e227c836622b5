"""Publish events at a steady rate from a thread, remembering every SSE id."""

from __future__ import annotations

import threading
import time

import redis

from monitio import publish, wire


class SteadyPublisher(threading.Thread):
    """Publish ``total`` ``message`` events round-robin over ``users`` at ``rate``/s.

    A Redis error (the server restarting) is retried after a short pause, so every
    event is eventually published exactly once; ``sent`` maps each user to its ids
    in publication order.
    """

    def __init__(self, users: list[int], total: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.users, self.total, self.rate = users, total, rate
        self.sent: dict[int, list[str]] = {u: [] for u in users}
        self.published_at: dict[str, float] = {}
        self.retries = 0

    def run(self) -> None:
        began = time.monotonic()
        for n in range(self.total):
            pause = began + n / self.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            user = self.users[n % len(self.users)]
            while True:
                try:
                    event_id = publish.publish(user, wire.MESSAGE, {"n": n})
                    break
                except redis.RedisError:
                    self.retries += 1
                    publish.reset_client()
                    time.sleep(0.05)
            self.sent[user].append(event_id)
            self.published_at[event_id] = time.monotonic()

    def count(self) -> int:
        return sum(len(ids) for ids in self.sent.values())
