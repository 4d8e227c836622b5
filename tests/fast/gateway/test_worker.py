"""The gateway's gunicorn worker frees a handed-off connection at once, tried on its
gevent server in this process."""

from __future__ import annotations

import gc
import weakref

import gevent.socket
from gevent.pool import Pool

from sse_gateway import handoff
from sse_gateway.worker import StreamServer


class _AccessLog:
    def __init__(self) -> None:
        self.statuses: list[str] = []

    def access(self, resp, req, environ, request_time) -> None:
        self.statuses.append(resp.status)


def test_a_taken_connection_is_freed_without_the_garbage_collector():
    """The handler of a handed-off connection, and its read buffer, go as soon as
    the request is done: left in a reference cycle they waited for a full
    collection, which at thousands of handshakes held megabytes."""
    handlers: list[weakref.ref] = []

    def app(environ, start_response):
        take = environ[handoff.TAKE]
        handlers.append(weakref.ref(take.__self__))
        conn = take()
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        conn.close()
        return []

    pool, log = Pool(10), _AccessLog()
    server = StreamServer(("127.0.0.1", 0), application=app, spawn=pool, log=None,
                          access_log=log, read_timeout=5)
    server.start()
    gc.disable()
    try:
        client = gevent.socket.create_connection(("127.0.0.1", server.server_port))
        client.sendall(b"GET /sse/ HTTP/1.1\r\nHost: h\r\n\r\n")
        assert client.recv(100) == b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
        assert client.recv(100) == b""  # the server wrote nothing more, and let go
        client.close()
        pool.join()
        assert len(handlers) == 1 and handlers[0]() is None
        assert log.statuses == ["200 OK"]
    finally:
        gc.enable()
        server.stop()
