"""A test-side SSE client: a WHATWG-conformant parser over a raw HTTP/1.1 socket.

The parser follows HTML §9.2.6 "Interpreting an event stream" literally (CRLF, CR
and LF line ends, one optional space after the colon, ``id`` with NUL ignored,
``retry`` only when all digits, dispatch on a blank line, trailing LF removed from
data), so the gateway's bytes are judged the way a browser judges them.

:class:`Stream` reads in a thread of its own and records every event; the socket can
be shut down from the test thread, which a higher-level HTTP client makes awkward.
"""

from __future__ import annotations

import codecs
import re
import socket
import threading
import time
from dataclasses import dataclass, field

_EOL = re.compile(r"\r\n|\r|\n")


@dataclass
class Event:
    type: str
    data: str
    id: str


class Parser:
    """Incremental event-stream parser; :meth:`feed` returns dispatched events."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""
        self._first = True
        self._data: list[str] = []
        self._type = ""
        self.last_event_id = ""
        self.retry: int | None = None
        self.comments = 0
        self.fields: list[str] = []  # every field name seen, for injection checks

    def feed(self, chunk: bytes) -> list[Event]:
        text = self._decoder.decode(chunk)
        if self._first and text:
            text = text.removeprefix("\ufeff")
            self._first = False
        self._pending += text
        events = []
        while True:
            cut = _line_end(self._pending)
            if cut is None:
                break
            line, consumed = cut
            self._pending = self._pending[consumed:]
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> Event | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        self.fields.append(name)
        if name == "event":
            self._type = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        return None

    def _dispatch(self) -> Event | None:
        data, kind = self._data, self._type
        self._data, self._type = [], ""
        if not data:
            return None
        return Event(kind or "message", "\n".join(data), self.last_event_id)


def _line_end(buffer: str) -> tuple[str, int] | None:
    """Return the first line and the characters it uses with its line end; ``None``
    until a line is complete (a CR at the very end may be half of a CRLF)."""
    found = _EOL.search(buffer)
    if found is None or (found.group() == "\r" and found.end() == len(buffer)):
        return None
    return buffer[: found.start()], found.end()


def parse(raw: bytes) -> tuple[list[Event], Parser]:
    """Parse a complete stream."""
    parser = Parser()
    events = parser.feed(raw)
    return events, parser


@dataclass
class Response:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Stream:
    """One SSE request on its own socket, read by a background thread."""

    def __init__(
        self,
        port: int,
        path: str = "/sse/",
        *,
        cookie: str | None = None,
        headers: dict[str, str] | None = None,
        method: str = "GET",
    ) -> None:
        self.port = port
        self.response = Response()
        self.parser = Parser()
        self.events: list[Event] = []
        self.raw = bytearray()
        self.ended = threading.Event()  # the server closed the stream (or we did)
        self.headers_seen = threading.Event()
        self._changed = threading.Condition()
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Accept: text/event-stream",
        ]
        if cookie is not None:
            lines.append(f"Cookie: {cookie}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    # -- reading --------------------------------------------------------------

    def _run(self) -> None:
        reader = _Reader(self._sock)
        try:
            status_line = reader.line()
            self.response.status = int(status_line.split()[1])
            while (line := reader.line()) != "":
                name, _, value = line.partition(":")
                self.response.headers[name.strip().lower()] = value.strip()
            self.headers_seen.set()
            for chunk in reader.body(self.response.headers):
                self._take(chunk)
        except (OSError, ValueError, IndexError):
            pass
        finally:
            self.headers_seen.set()
            self.ended.set()
            with self._changed:
                self._changed.notify_all()

    def _take(self, chunk: bytes) -> None:
        self.raw += chunk
        if self.response.status != 200:
            self.response.body += chunk
            return
        events = self.parser.feed(chunk)
        with self._changed:
            self.events.extend(events)
            self._changed.notify_all()

    # -- waiting --------------------------------------------------------------

    def wait(self, predicate, timeout: float = 10.0) -> bool:
        """Wait until ``predicate(self)`` is true or the stream ends."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0 or self.ended.is_set():
                    return predicate(self)
                self._changed.wait(min(left, 0.2))
        return True

    def wait_events(self, count: int, timeout: float = 10.0) -> list[Event]:
        self.wait(lambda s: len(s.events) >= count, timeout)
        return list(self.events)

    def status(self, timeout: float = 10.0) -> int:
        self.headers_seen.wait(timeout)
        return self.response.status

    def wait_end(self, timeout: float = 10.0) -> bool:
        return self.ended.wait(timeout)

    @property
    def last_id(self) -> str:
        return self.parser.last_event_id

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(5)


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = b""

    def _fill(self) -> bool:
        data = self._sock.recv(65536)
        if not data:
            return False
        self._buf += data
        return True

    def line(self) -> str:
        while b"\r\n" not in self._buf:
            if not self._fill():
                raise ValueError("connection closed")
        line, self._buf = self._buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def exact(self, size: int) -> bytes:
        while len(self._buf) < size:
            if not self._fill():
                raise ValueError("connection closed")
        data, self._buf = self._buf[:size], self._buf[size:]
        return data

    def body(self, headers: dict[str, str]):
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.line().split(";")[0], 16)
                if size == 0:
                    return
                yield self.exact(size)
                self.exact(2)
        elif "content-length" in headers:
            yield self.exact(int(headers["content-length"]))
        else:
            if self._buf:
                yield self._buf
                self._buf = b""
            while self._fill():
                yield self._buf
                self._buf = b""


class Reconnecting:
    """Behave like a browser's EventSource: on a network error or a closed stream,
    wait ``retry`` ms and reconnect with ``Last-Event-ID``; stop on a non-200."""

    def __init__(self, port: int, cookie: str, *, last_event_id: str = "") -> None:
        self.port = port
        self.cookie = cookie
        self.last_event_id = last_event_id
        self.retry_ms = 3000
        self.events: list[Event] = []
        self.retries_seen: list[int] = []  # retry values received before each drop
        self.reconnect_times: list[float] = []
        self.failed_status: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.current: Stream | None = None
        self._thread.start()

    def _run(self) -> None:
        dropped_at: float | None = None
        while not self._stop.is_set():
            headers = (
                {"Last-Event-ID": self.last_event_id} if self.last_event_id else {}
            )
            try:
                stream = Stream(self.port, cookie=self.cookie, headers=headers)
            except OSError:
                time.sleep(0.05)
                continue
            self.current = stream
            status = stream.status(30)
            if status != 200:
                stream.close()
                if status == 0:  # the connection broke before a response: retry
                    time.sleep(0.05)
                    continue
                self.failed_status = status
                return
            if dropped_at is not None:
                self.reconnect_times.append(time.monotonic() - dropped_at)
            while not stream.ended.is_set() and not self._stop.is_set():
                stream.wait_end(0.1)
            dropped_at = time.monotonic()
            stream.close()
            self.events.extend(stream.events)
            if stream.parser.retry is not None:
                self.retry_ms = stream.parser.retry
                self.retries_seen.append(stream.parser.retry)
            if stream.last_id:
                self.last_event_id = stream.last_id
            self._stop.wait(self.retry_ms / 1000)

    def all_events(self) -> list[Event]:
        live = (
            self.current.events
            if self.current and not self.current.ended.is_set()
            else []
        )
        return self.events + list(live)

    def stop(self) -> None:
        self._stop.set()
        if self.current is not None:
            self.current.close()
        self._thread.join(10)
