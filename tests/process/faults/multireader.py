"""Many SSE streams read by one thread with ``selectors``, for latency figures.

A thread per stream would make a thousand readers fight for the GIL and measure
the scheduler; one ``select`` loop measures the gateway. Each stream is parsed by
the gateway suite's WHATWG :class:`~tests.sseclient.Parser` behind a small
incremental HTTP/1.1 chunked decoder. An event whose JSON data has ``"t"`` (a
``time.monotonic()`` taken just before publishing) records ``(t, latency)``; events
published together share ``t``, so latencies can be grouped by round.
"""

from __future__ import annotations

import json
import resource
import selectors
import socket
import threading
import time

from tests.sseclient import Parser


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit (children started later
    inherit it); return the new limit. Thousands of test sockets need it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1_048_576
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class _Conn:
    __slots__ = (
        "buf",
        "closed",
        "data",
        "head",
        "ids",
        "parser",
        "sock",
        "status",
        "user",
        "want",
    )

    def __init__(self, sock: socket.socket, user: int) -> None:
        self.sock, self.user = sock, user
        self.head = b""
        self.status = 0
        self.buf = b""
        self.want: int | None = None  # bytes left in the current chunk, +2 for CRLF
        self.parser = Parser()
        self.ids: list[str] = []
        self.data: list[str] = []  # every event's data, with ``keep_data``
        self.closed = False

    def feed(self, data: bytes) -> list:
        if not self.status:
            self.head += data
            if b"\r\n\r\n" not in self.head:
                return []
            head, _, data = self.head.partition(b"\r\n\r\n")
            self.status = int(head.split(b" ", 2)[1])
        self.buf += data
        if self.status != 200:
            return []  # an error body: kept in ``buf`` as it came
        payload = b""
        while True:
            if self.want is None:
                line, sep, rest = self.buf.partition(b"\r\n")
                if not sep:
                    break
                self.want, self.buf = int(line.split(b";")[0], 16) + 2, rest
                if self.want == 2:
                    self.closed = True
                    break
            if len(self.buf) < self.want:
                break
            payload += self.buf[: self.want - 2]
            self.buf, self.want = self.buf[self.want :], None
        return self.parser.feed(payload) if payload else []


class MultiReader(threading.Thread):
    """Open one stream per ``(user, cookie)`` on ``port`` and read them all.

    Each item may also be ``(user, cookie, path, headers)``; with ``keep_data`` the
    data of every event is kept in ``conn.data``.
    """

    def __init__(
        self, port: int, requests: list[tuple], keep_data: bool = False
    ) -> None:
        super().__init__(daemon=True)
        self.selector = selectors.DefaultSelector()
        self.conns: list[_Conn] = []
        self.latencies: list[tuple[float, float]] = []
        self.keep_data = keep_data
        self._halt = threading.Event()
        for user, cookie, *rest in requests:
            path, headers = rest if rest else ("/sse/", {})
            extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(
                (
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"Accept: text/event-stream\r\nCookie: {cookie}\r\n"
                    f"{extra}\r\n"
                ).encode()
            )
            sock.setblocking(False)
            conn = _Conn(sock, user)
            self.conns.append(conn)
            self.selector.register(sock, selectors.EVENT_READ, conn)

    def run(self) -> None:
        while not self._halt.is_set():
            for key, _ in self.selector.select(0.1):
                conn: _Conn = key.data
                try:
                    data = conn.sock.recv(262144)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                now = time.monotonic()
                if not data:
                    conn.closed = True
                    self.selector.unregister(conn.sock)
                    continue
                for event in conn.feed(data):
                    conn.ids.append(event.id)
                    if self.keep_data:
                        conn.data.append(event.data)
                    if '"t":' in event.data:
                        sent_at = json.loads(event.data)["t"]
                        self.latencies.append((sent_at, now - sent_at))

    def connected(self) -> int:
        return sum(c.status == 200 for c in self.conns)

    def answered(self) -> int:
        return sum(c.status != 0 for c in self.conns)

    def stop(self) -> None:
        self._halt.set()
        self.join(10)
        for conn in self.conns:
            conn.sock.close()
        self.selector.close()
