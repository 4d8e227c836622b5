"""The gateway's gunicorn worker: ``gunicorn -k sse_gateway.worker.StreamWorker``.

A worker class of our own (gunicorn's ``worker_class`` setting takes the path of a
subclass of :class:`gunicorn.workers.base.Worker`) that serves HTTP/1.x with
gevent's own WSGI server, :class:`gevent.pywsgi.WSGIServer`. Owning the server is
what lets a stream leave request handling once admitted: the handler offers the
application its connection (see :mod:`.handoff`), and when the application takes
it, the handler writes nothing more and lets go of its own socket object. The hub
then writes the stream itself, and no greenlet is parked per open stream.

From gunicorn it uses the documented worker contract only: ``init_process`` (patch
gevent in, then the base class loads the application and calls ``run``), ``run``,
``notify``, ``alive``, ``sockets``, ``cfg``, ``log`` and ``wsgi``; and
``check_config``, which the arbiter calls at start, to refuse TLS or HTTP/2 in
gunicorn by name before anything is served.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import time
from typing import Any

import gevent
from gevent import monkey, pywsgi
from gevent.pool import Pool
from gunicorn.workers.base import Worker

from . import handoff
from .request_headers import RequestHeaders

_logger = logging.getLogger("sse_gateway")


class _AccessRecord:
    """What gunicorn's access log (``Logger.access``) reads of a response."""

    def __init__(self, status: str, headers: list[tuple[str, str]], sent: int) -> None:
        self.status = status
        self.headers = headers
        self.sent = sent


class StreamHandler(pywsgi.WSGIHandler):
    """gevent's WSGI handler, plus: the connection offered to the application
    (``environ[handoff.TAKE]``), a read timeout, gunicorn's access log, no
    request contents in the error log, and a header reader of its own (see
    :mod:`.request_headers`)."""

    MessageClass = RequestHeaders
    taken = False

    def handle(self) -> None:
        # An idle or slowly written request must not hold a slot for ever.
        self.socket.settimeout(self.server.read_timeout)
        super().handle()

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ[handoff.TAKE] = self.take
        environ["RAW_URI"] = self.path  # gunicorn's %(r)s access-log atom
        return environ

    def handle_one_response(self) -> None:
        try:
            super().handle_one_response()
        finally:
            # environ -> take -> this handler -> environ: break the cycle, so the
            # handler and its read buffer go as soon as the connection is done, not
            # at the next full garbage collection.
            self.environ.pop(handoff.TAKE, None)

    def take(self) -> socket.socket:
        """Give the application the connection: this handler writes nothing more
        and closes only its own socket object when the application returns."""
        self.taken = True
        self.close_connection = True
        return handoff.plain_socket(self.socket)

    def log_error(self, msg: str, *args: Any) -> None:
        # gevent calls this for a malformed request, quoting its request line (query
        # string included): say that one was refused, never what it said.
        _logger.info("refused a malformed HTTP request (400)")

    def log_request(self) -> None:
        status = self.status or "000"
        if self.taken:
            status = "200 OK"  # the head the hub wrote
        elif isinstance(status, bytes):  # gevent keeps the status encoded
            status = status.decode("latin-1")
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            if isinstance(name, bytes) else (name, value)
            for name, value in self.response_headers or []
        ]
        # A request refused before it was parsed (400, 414) has no environ.
        environ = self.environ or {
            "REQUEST_METHOD": "-",
            "RAW_URI": "-",
            "PATH_INFO": "-",
            "SERVER_PROTOCOL": "-",
            "REMOTE_ADDR": self.client_address[0]
            if isinstance(self.client_address, tuple)
            else self.client_address or "-",
        }
        elapsed = (self.time_finish or time.time()) - self.time_start
        self.server.access_log.access(
            _AccessRecord(status, headers, self.response_length),
            self.headers.items(),
            environ,
            datetime.timedelta(seconds=elapsed),
        )


class StreamServer(pywsgi.WSGIServer):
    """gevent's WSGI server with the settings :class:`StreamHandler` reads."""

    handler_class = StreamHandler

    def __init__(
        self,
        listener: socket.socket,
        *,
        access_log: Any,
        read_timeout: float | None,
        **kw: Any,
    ) -> None:
        super().__init__(listener, **kw)
        self.access_log = access_log
        self.read_timeout = read_timeout


class StreamWorker(Worker):
    """A gunicorn worker serving the gateway with gevent's WSGI server."""

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        """Stop before serving when gunicorn's own settings rule streams out."""
        setup = handoff.server_obstacle(cfg)
        if setup is not None:
            log.critical(handoff.explain(setup))
            raise SystemExit(1)

    def init_process(self) -> None:
        # Before the application is imported: everything it loads is cooperative.
        monkey.patch_all()
        gevent.reinit()
        self.sockets = [
            socket.socket(s.family, s.type, fileno=s.detach()) for s in self.sockets
        ]
        super().init_process()

    def run(self) -> None:
        servers = [self._server(listener) for listener in self.sockets]
        for server in servers:
            server.start()
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                break
            gevent.sleep(1.0)
        self._stop(servers)

    def _server(self, listener: socket.socket) -> StreamServer:
        listener.setblocking(True)
        return StreamServer(
            listener,
            application=self.wsgi,
            spawn=Pool(self.cfg.worker_connections),
            log=None,
            error_log=logging.getLogger("gunicorn.error"),
            access_log=self.log,
            read_timeout=self.cfg.keepalive or self.cfg.timeout or None,
        )

    def _stop(self, servers: list[StreamServer]) -> None:
        """Stop accepting, let requests in progress finish within the graceful
        timeout, then end the rest. (Open streams are not requests: the
        application drains them on SIGTERM.)"""
        for server in servers:
            server.close()
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while time.monotonic() < deadline and any(
            server.pool.free_count() != server.pool.size for server in servers
        ):
            self.notify()
            gevent.sleep(0.1)
        for server in servers:
            server.stop(timeout=1)

    def handle_quit(self, sig: int, frame: Any) -> None:
        # Out of the signal handler, so that exiting may block (gunicorn #1126).
        gevent.spawn(super().handle_quit, sig, frame)

    def handle_usr1(self, sig: int, frame: Any) -> None:
        gevent.spawn(super().handle_usr1, sig, frame)

