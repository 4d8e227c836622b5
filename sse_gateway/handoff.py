"""How a stream's connection passes from the server to the hub.

A stream outlives its request: once it is admitted, the hub writes to the socket
itself (see :mod:`.client`), so no greenlet is parked per open stream. The
gateway's own worker (:mod:`.worker`) offers each request's connection to the
application as a callable, ``environ[TAKE]``. The application calls it for an
admitted stream, writes the response itself on the socket it gets, and returns
without calling ``start_response``; the server then writes nothing more on that
connection and closes only its own socket object.

So the connection must carry one HTTP/1.x exchange in the clear. TLS terminated
by gunicorn (``--certfile``) would keep the session's state in the server's socket
object, and with HTTP/2 one connection carries many requests: the worker refuses
both at start, naming the set-up (:func:`server_obstacle`); TLS and HTTP/2 belong in
the proxy in front of the gateway. Under any other server (no ``TAKE``) streams
are refused with a log line that says which worker to run (:func:`obstacle`).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from gevent import monkey

#: The environ key of the callable that hands the request's connection over.
TAKE = "sse_gateway.take_connection"

#: The standard library's socket class as it was before gevent patched it: its
#: ``send`` returns at once, which is what the hub's writes are built on.
_PlainSocket = monkey.get_original("socket", "socket")

#: The worker class that can hand a connection over.
WORKER = "sse_gateway.worker.StreamWorker"

#: The set-ups that cannot hand a connection over, as log lines name them.
NOT_OURS = f"a server other than the gateway's worker ({WORKER})"
TLS = "TLS terminated by gunicorn (--certfile/--keyfile)"
HTTP2 = "HTTP/2 served by gunicorn (--http-protocols with h2)"


def obstacle(environ: dict[str, Any]) -> str | None:
    """:data:`NOT_OURS` when this request's connection cannot be handed over."""
    return None if callable(environ.get(TAKE)) else NOT_OURS


def server_obstacle(cfg: Any) -> str | None:
    """The set-up in gunicorn's settings (``server.cfg``) that rules streams out
    (:data:`TLS` or :data:`HTTP2`), or ``None``."""
    if cfg.certfile or cfg.keyfile:
        return TLS
    if "h2" in cfg.http_protocols:
        return HTTP2
    return None


def explain(setup: str) -> str:
    """The log line for a refused set-up."""
    if setup == NOT_OURS:
        return f"streams cannot be served by {setup}: run gunicorn -k {WORKER}"
    return (
        f"streams cannot be served over {setup}: the gateway writes each stream to "
        "its TCP connection itself. Terminate TLS and HTTP/2 in a proxy in front of "
        "it (docs/nginx.conf) and run gunicorn without them."
    )


def take(environ: dict[str, Any]) -> socket.socket:
    """The request's connection, from now on the caller's (see the module)."""
    return environ[TAKE]()


def plain_socket(conn: socket.socket) -> socket.socket:
    """A non-blocking socket of our own on ``conn``'s connection.

    A plain (not cooperative) socket on a duplicate descriptor: it stays open when
    the server closes ``conn``, and every write to it is a non-blocking ``send``
    whose remainder the caller keeps.
    """
    sock = _PlainSocket(fileno=os.dup(conn.fileno()))
    sock.setblocking(False)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        # Each event is one small write: send it now, not after the last one's ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
