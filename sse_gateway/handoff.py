"""Take a stream's connection over from gunicorn's gevent worker.

A stream outlives its request: once it is admitted, the hub writes to the socket
itself (see :mod:`.client`), so no greenlet is parked per open stream. The
connection's descriptor is duplicated and the request handler then ends with
:class:`HandedOff`: gunicorn's async workers take a ``StopIteration`` from the
handler as "close this connection" and close their own descriptor only; the
duplicate keeps the connection open.
"""

from __future__ import annotations

import _socket
import os
import socket
from typing import Any


class HandedOff(StopIteration):
    """The application owns the connection now; the server must let go of it."""


def can_hand_off(environ: dict[str, Any]) -> bool:
    """Whether the server exposes the connection (gunicorn does, as
    ``gunicorn.socket``)."""
    return hasattr(environ.get("gunicorn.socket"), "fileno")


def take(environ: dict[str, Any]) -> socket.socket:
    """Return a non-blocking socket of our own on the request's connection.

    A plain (not cooperative) socket: every write to it is a non-blocking ``send``
    whose remainder the caller keeps.
    """
    conn = environ["gunicorn.socket"]
    sock = _socket.socket(fileno=os.dup(conn.fileno()))
    sock.setblocking(False)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        # Each event is one small write: send it now, not after the last one's ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
