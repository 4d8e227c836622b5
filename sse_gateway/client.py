"""The state the gateway keeps for one open stream, kept small on purpose.

A client is written to by the fan-out reader (:meth:`Client.offer`, which only
appends already-encoded bytes) and drained by the greenlet serving its response
(:meth:`Client.take`, which joins everything waiting into one write). So a burst of
events costs one wake-up and one ``send`` per client, not one per event.
"""

from __future__ import annotations

import enum
import time

import gevent
from gevent.event import Event

from .event import HEARTBEAT

EntryKey = tuple[int, int]


class Offer(enum.Enum):
    QUEUED = 1
    SKIPPED = 2  # already sent (or older than the cursor): de-duplicated
    OVERFLOW = 3  # the client is too far behind: drop it


class Client:
    """One open stream of ``user_id``, authenticated for login ``session``."""

    __slots__ = (
        "buffer",
        "catching_up",
        "closed",
        "epoch",
        "greenlet",
        "last",
        "pending",
        "queue_size",
        "session",
        "user_id",
        "wakeup",
        "writing_since",
    )

    def __init__(self, user_id: str, session: str, queue_size: int) -> None:
        self.user_id = user_id
        self.session = session
        self.epoch = ""
        #: The entry id of the newest event queued; events at or before it are skipped.
        self.last: EntryKey = (0, 0)
        #: While the history is read, live events wait in ``pending``.
        self.catching_up = True
        self.pending: list[tuple[EntryKey, bytes]] = []
        self.buffer: list[bytes] = []
        self.closed = False
        self.wakeup = Event()
        self.greenlet: gevent.Greenlet | None = None
        #: ``time.monotonic()`` when the current write started, 0 when idle.
        self.writing_since = 0.0
        self.queue_size = queue_size

    def offer(self, key: EntryKey, payload: bytes) -> Offer:
        """Queue ``payload`` (the encoded event with entry id ``key``) unless sent."""
        if self.closed:
            return Offer.SKIPPED
        if self.catching_up:
            if len(self.pending) >= self.queue_size:
                return Offer.OVERFLOW
            self.pending.append((key, payload))
            return Offer.QUEUED
        if key <= self.last:
            return Offer.SKIPPED
        # Slow means: events pile up while the previous write is still blocked. A
        # client that merely has not run yet (one batch brought many events) is not
        # slow; its buffer is bounded by the broker's batch size.
        if self.writing_since and len(self.buffer) >= self.queue_size:
            return Offer.OVERFLOW
        self.buffer.append(payload)
        self.last = key
        return Offer.QUEUED

    def push(self, payload: bytes) -> None:
        """Queue bytes that are not history events (resync, ``retry:``)."""
        self.buffer.append(payload)

    def take(self, timeout: float) -> bytes | None:
        """Wait up to ``timeout`` seconds; return what to write (a heartbeat if
        nothing came), or ``None`` once the stream is closed and flushed."""
        if not self.buffer and not self.closed:
            self.wakeup.clear()
            self.wakeup.wait(timeout)
        if self.buffer:
            data = b"".join(self.buffer)
            self.buffer.clear()
            return data
        return None if self.closed else HEARTBEAT

    def close(self, final: bytes = b"", *, abort: bool = False) -> None:
        """End the stream after writing ``final``; ``abort`` also interrupts a write
        in progress (a client that stopped reading would block it forever)."""
        if self.closed:
            return
        self.closed = True
        self.pending.clear()
        if abort:
            self.buffer.clear()
            if self.writing_since and self.greenlet is not None:
                self.greenlet.kill(block=False)
        elif final:
            self.buffer.append(final)
        self.wakeup.set()

    def writing_for(self, now: float | None = None) -> float:
        """Seconds the current write has been blocked (0 when not writing)."""
        if not self.writing_since:
            return 0.0
        return (time.monotonic() if now is None else now) - self.writing_since
