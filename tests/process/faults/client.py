"""A test client that behaves like a browser running monitio's live client.

:class:`Browserlike` models ``EventSource`` plus the page script around it, as the
WHATWG processing model and ``monitio.js`` define them:

- the first request carries ``?last_event_id=`` (the id embedded in the page);
- a network error (refused, reset, stream ended) makes the user agent reconnect
  after the last ``retry:`` with the ``Last-Event-ID`` header;
- a non-200 answer (nginx's 502 while the gateway restarts, a 503 while it drains)
  *fails* the connection: no automatic retry, so the page script opens a new
  ``EventSource`` after a short back-off, again with ``?last_event_id=`` (a new
  ``EventSource`` cannot send the header);
- events are de-duplicated by id before use, as the page script does.

Each client counts what a user would see: events in arrival order (raw, with
duplicates), the non-200 statuses met, and how long each drop lasted.
"""

from __future__ import annotations

import math
import random
import statistics
import threading
import time
from urllib.parse import quote

from tests.sseclient import Event, Stream


class Browserlike:
    def __init__(
        self,
        port: int,
        cookie: str,
        *,
        last_event_id: str = "",
        reopen_ms: tuple[int, int] = (250, 750),
    ) -> None:
        self.port = port
        self.cookie = cookie
        self.last_event_id = last_event_id
        self.reopen_ms = reopen_ms
        self.retry_ms = 3000  # the UA default until the server sends retry:
        self.raw: list[Event] = []
        self.statuses: dict[int, int] = {}  # non-200 answers met, by status
        self.reconnect_times: list[float] = []
        self.reopened = 0  # new EventSource objects after a failed connection
        self.unauthorized = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.current: Stream | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        use_header = False
        dropped_at: float | None = None
        while not self._stop.is_set():
            stream = self._open(use_header)
            if stream is None:  # refused: a network error, the UA retries
                self._stop.wait(self.retry_ms / 1000)
                continue
            status = stream.status(30)
            if status != 200:
                stream.close()
                if status == 0:
                    self._stop.wait(self.retry_ms / 1000)
                    continue
                with self._lock:
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                if status in (401, 403):
                    self.unauthorized = True
                    return
                # Failed: the page opens a new EventSource with the query cursor.
                self.reopened += 1
                use_header = False
                self._stop.wait(random.randint(*self.reopen_ms) / 1000)
                continue
            if dropped_at is not None:
                self.reconnect_times.append(time.monotonic() - dropped_at)
                dropped_at = None
            self.current = stream
            while not stream.ended.is_set() and not self._stop.is_set():
                stream.wait_end(0.2)
            stream.close()
            if self._stop.is_set():
                break
            dropped_at = time.monotonic()
            self._absorb(stream)
            use_header = True
            self._stop.wait(self.retry_ms / 1000)

    def _open(self, use_header: bool) -> Stream | None:
        headers, path = {}, "/sse/"
        if self.last_event_id and use_header:
            headers["Last-Event-ID"] = self.last_event_id
        elif self.last_event_id:
            path += "?last_event_id=" + quote(self.last_event_id, safe="")
        try:
            return Stream(self.port, path, cookie=self.cookie, headers=headers)
        except OSError:
            return None

    def _absorb(self, stream: Stream) -> None:
        with self._lock:
            self.raw.extend(stream.events)
            self.current = None
        if stream.parser.retry is not None:
            self.retry_ms = stream.parser.retry
        if stream.last_id:
            self.last_event_id = stream.last_id

    def events(self) -> list[Event]:
        """Every event received so far, in arrival order, duplicates included."""
        with self._lock:
            live = self.current.events if self.current is not None else []
            return self.raw + list(live)

    def stop(self) -> None:
        self._stop.set()
        stream = self.current
        if stream is not None:
            stream.close()
        self._thread.join(10)
        with self._lock:
            if stream is not None and self.current is stream:
                self.raw.extend(stream.events)
                self.current = None


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
