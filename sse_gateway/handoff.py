"""Take a stream's connection over from gunicorn's gevent worker.

A stream outlives its request: once it is admitted, the hub writes to the socket
itself (see :mod:`.client`), so no greenlet is parked per open stream. The
connection's descriptor is duplicated and the request handler then ends with
:class:`HandedOff`: gunicorn's async workers take a ``StopIteration`` from the
handler as "close this connection" and close their own descriptor only; the
duplicate keeps the connection open.

So the connection must carry one HTTP/1.x exchange in the clear. When gunicorn
terminates TLS (``--certfile``) the session's state stays in gunicorn's socket
object, and with HTTP/2 one connection carries many requests: bytes written to the
descriptor would break both. Those set-ups are refused, naming the set-up (see
:func:`obstacle` and :func:`server_obstacle`); TLS and HTTP/2 belong in the proxy
in front of the gateway.
"""

from __future__ import annotations

import os
import socket
import ssl
from typing import Any

from gevent import monkey

#: The standard library's socket class as it was before gevent patched it: its
#: ``send`` returns at once, which is what the hub's writes are built on.
_PlainSocket = monkey.get_original("socket", "socket")

#: The set-ups that cannot hand a connection over, as log lines name them.
NOT_GEVENT = "a server other than gunicorn's gevent worker"
TLS = "TLS terminated by gunicorn (--certfile/--keyfile)"
HTTP2 = "HTTP/2 served by gunicorn (--http-protocols with h2)"


class HandedOff(StopIteration):
    """The application owns the connection now; the server must let go of it."""


def obstacle(environ: dict[str, Any]) -> str | None:
    """The set-up that keeps this request's connection from being handed over
    (:data:`NOT_GEVENT`, :data:`TLS` or :data:`HTTP2`), or ``None``."""
    conn = environ.get("gunicorn.socket")
    if not hasattr(conn, "fileno"):
        return NOT_GEVENT
    if environ.get("SERVER_PROTOCOL", "").startswith("HTTP/2"):
        return HTTP2
    # Looked up at call time: under gevent this is gevent's cooperative class,
    # the one gunicorn wraps its connections in.
    if isinstance(conn, ssl.SSLSocket):
        return TLS
    return None


def server_obstacle(cfg: Any) -> str | None:
    """The same, judged at start from gunicorn's settings (``server.cfg``)."""
    if cfg.certfile or cfg.keyfile:
        return TLS
    if "h2" in cfg.http_protocols:
        return HTTP2
    return None


def explain(setup: str) -> str:
    """The log line for a refused set-up."""
    if setup == NOT_GEVENT:
        return f"streams cannot be served by {setup}: run gunicorn -k gevent"
    return (
        f"streams cannot be served over {setup}: the gateway writes each stream to "
        "its TCP connection itself. Terminate TLS and HTTP/2 in a proxy in front of "
        "it (docs/nginx.conf) and run gunicorn without them."
    )


def take(environ: dict[str, Any]) -> socket.socket:
    """Return a non-blocking socket of our own on the request's connection.

    A plain (not cooperative) socket: every write to it is a non-blocking ``send``
    whose remainder the caller keeps.
    """
    conn = environ["gunicorn.socket"]
    sock = _PlainSocket(fileno=os.dup(conn.fileno()))
    sock.setblocking(False)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        # Each event is one small write: send it now, not after the last one's ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
