"""One open stream: its state, and non-blocking writes straight to its socket.

No greenlet waits per stream. Whoever has bytes for a client (the greenlet reading
Redis, the sweeper's heartbeat, a catch-up) writes them at once with a non-blocking
``send``; only what the kernel does not take is kept, in order, and flushed by an
event-loop watcher when the socket drains. A second watcher notices the peer
closing. So an event for N users costs N ``send`` calls from one greenlet, and an
idle stream costs a socket, one watcher and this small object. Several events for
one stream in one batch from Redis can be held (:meth:`Client.hold`) and go out in
one ``send`` (:meth:`Client.flush`).
"""

from __future__ import annotations

import enum
import socket
import time
from collections.abc import Callable

import gevent

from .event import HEARTBEAT, Frames, chunk, frames

EntryKey = tuple[int, int]

#: The end of a chunked body.
_LAST_CHUNK = b"0\r\n\r\n"
_HEARTBEAT = frames(HEARTBEAT)
#: Seconds a closed stream's unsent bytes get to drain.
_LINGER = 5.0


class Offer(enum.Enum):
    QUEUED = 1
    SKIPPED = 2  # already sent (or older than the cursor): de-duplicated
    OVERFLOW = 3  # the client is too far behind: drop it
    DEFERRED = 4  # past what waits while the history is read: the catch-up covers it


class Client:
    """One open stream of ``user_id``, authenticated for login ``session``.

    Until :meth:`attach` gives it its socket, everything written is kept, in order.
    ``on_lost`` is called once if the peer goes away.
    """

    __slots__ = (
        "_on_lost",
        "_reading",
        "_timer",
        "_writing",
        "catching_up",
        "chunked",
        "closed",
        "epoch",
        "held",
        "last",
        "missed",
        "out",
        "pending",
        "queue_size",
        "session",
        "sock",
        "user_id",
        "writing_since",
    )

    def __init__(
        self,
        user_id: str,
        session: str,
        queue_size: int,
        on_lost: Callable[[Client], None],
        *,
        chunked: bool = True,
    ) -> None:
        self.user_id = user_id
        self.session = session
        self.epoch = ""
        #: The entry id of the newest event queued; events at or before it are skipped.
        self.last: EntryKey = (0, 0)
        #: While the history is read, live events wait in ``pending`` (at most
        #: ``queue_size``); ``missed`` is the newest of those that did not fit.
        self.catching_up = True
        self.pending: list[tuple[EntryKey, Frames]] = []
        self.missed: EntryKey = (0, 0)
        #: Bytes not yet taken by the kernel, oldest first.
        self.out: list[bytes] = []
        #: While not ``None``, writes wait here for :meth:`flush` (one ``send``).
        self.held: list[bytes] | None = None
        self.closed = False
        #: HTTP/1.1: the body is chunked (HTTP/1.0: it ends when the socket closes).
        self.chunked = chunked
        self.sock: socket.socket | None = None
        self._reading = self._writing = self._timer = None
        #: ``time.monotonic()`` when writes started to block, 0 while they do not.
        self.writing_since = 0.0
        self.queue_size = queue_size
        self._on_lost = on_lost

    # -- writing ---------------------------------------------------------------

    def offer(self, key: EntryKey, event: Frames) -> Offer:
        """Write ``event`` (entry id ``key``) unless it was already sent."""
        if self.closed:
            return Offer.SKIPPED
        if self.catching_up:
            # A burst during the history read is not the client being slow.
            if len(self.pending) >= self.queue_size:
                self.missed = max(self.missed, key)
                return Offer.DEFERRED
            self.pending.append((key, event))
            return Offer.QUEUED
        if key <= self.last:
            return Offer.SKIPPED
        # Slow means: events pile up while the socket will not take them. What is
        # kept before attach() is not (and is bounded: the opening, the catch-up
        # and ``pending``).
        if self.sock is not None and len(self.out) >= self.queue_size:
            return Offer.OVERFLOW
        self.last = key
        self._write(event[self.chunked])
        return Offer.QUEUED

    def push(self, payload: bytes) -> None:
        """Write bytes that are not history events (replay, resync, ``retry:``)."""
        if not self.closed:
            self._write(chunk(payload) if self.chunked else payload)

    def heartbeat(self) -> None:
        """Write a comment, unless the stream is busy anyway."""
        if not self.out and not self.closed and self.sock is not None:
            self._write(_HEARTBEAT[self.chunked])

    def attach(self, sock: socket.socket, head: bytes) -> None:
        """Start writing to ``sock`` (non-blocking): ``head``, then what is kept."""
        self.sock = sock
        kept = self.out
        self.out = []
        self._reading = gevent.get_hub().loop.io(sock.fileno(), 1)
        self._reading.start(self._on_readable)
        self._write(b"".join([head, *kept]))
        if self.closed:  # drained or revoked before it was attached
            self._end(abort=False, linger=_LINGER)

    def hold(self) -> None:
        """Keep what is written from now on for one :meth:`flush`."""
        if self.held is None:
            self.held = []

    def flush(self) -> int:
        """Write what was held since :meth:`hold` at once, and stop holding; return
        how many writes were joined."""
        held, self.held = self.held, None
        if held:
            self._write(b"".join(held))
        return len(held or ())

    def _write(self, data: bytes) -> None:
        if self.out or self.sock is None:
            self.out.append(data)
            return
        if self.held is not None:
            self.held.append(data)
            return
        sent = self._send(data)
        if sent is not None and sent < len(data):
            self.out.append(data[sent:])
            self.writing_since = time.monotonic()
            self._writing = gevent.get_hub().loop.io(self.sock.fileno(), 2)
            self._writing.start(self._on_writable)

    def _on_writable(self) -> None:
        data = b"".join(self.out)
        self.out.clear()
        sent = self._send(data)
        if sent is None:
            return
        if sent < len(data):
            self.out.append(data[sent:])
            if sent:
                self.writing_since = time.monotonic()
            return
        self._writing.stop()
        self._writing = None
        self.writing_since = 0.0
        if self.closed:
            self._release()

    def _send(self, data: bytes) -> int | None:
        """Send what the socket takes now: the byte count, ``None`` if the peer is gone."""
        try:
            return self.sock.send(data)
        except BlockingIOError:
            return 0
        except OSError:
            self._lose()
            return None

    def _on_readable(self) -> None:
        # Nothing is expected from the peer: bytes are discarded, EOF means gone.
        try:
            data = self.sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._lose()

    # -- closing ---------------------------------------------------------------

    def close(
        self, final: bytes = b"", *, abort: bool = False, linger: float = _LINGER
    ) -> None:
        """End the stream after writing ``final``; ``abort`` drops what is unsent.

        Unsent bytes get ``linger`` seconds to drain before the socket is closed.
        """
        if self.closed:
            return
        if final:
            self.push(final)
        self.flush()
        self.closed = True
        self.pending.clear()
        if self.sock is not None:
            self._end(abort=abort, linger=linger)

    def _end(self, *, abort: bool, linger: float) -> None:
        if not abort and self.chunked:
            self._write(_LAST_CHUNK)
        if abort or not self.out:
            self._release()
        else:
            self._timer = gevent.get_hub().loop.timer(linger)
            self._timer.start(self._release)

    def _lose(self) -> None:
        if self.sock is None:
            return
        self.closed = True
        self.pending.clear()
        self._release()
        self._on_lost(self)

    def _release(self) -> None:
        for watcher in (self._reading, self._writing, self._timer):
            if watcher is not None:
                watcher.stop()
        self._reading = self._writing = self._timer = None
        self.out.clear()
        self.held = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def writing_for(self, now: float | None = None) -> float:
        """Seconds the socket has not taken anything (0 when nothing waits)."""
        if not self.writing_since:
            return 0.0
        return (time.monotonic() if now is None else now) - self.writing_since
