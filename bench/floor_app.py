"""The reconnect storm's floor (``bench_reconnect --targets floor``): the gateway's
worker class serving an application that only takes the connection and writes a
stream head. No token check, no Redis, no hub: what gunicorn, gevent's WSGI server
and the hand-off cost per stream before monitio does anything."""

import gc

from sse_gateway import handoff

_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
)
_streams = []  # held open, as the hub holds its streams


def application(environ, start_response):
    sock = handoff.take(environ)
    sock.send(_HEAD)
    _streams.append(sock)
    return []


gc.freeze()  # as sse_gateway.wsgi does
