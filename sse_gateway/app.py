"""The gateway's WSGI application: ``/sse/`` streams, ``/healthz``, ``/readyz`` and
``/metrics``.

A stream request goes through, in order: method (GET only; OPTIONS answers a CORS
preflight; anything else 405), Origin (403), no credential in the query string
(401), the :class:`~.auth.Authenticator` (401), capacity (503, or 429 per user), then
register + catch-up (see :mod:`.hub`), whose one Redis round trip also refuses a
revoked credential or one of another epoch (401), and the hand-off of the
connection to the hub (see :mod:`.handoff`), which writes the stream from then on:
that response is not returned to the server. Nothing is written before the
credential is verified, and no error body says more than its status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import redis
from gevent.lock import Semaphore

from monitio import wire

from . import handoff
from .auth import (
    CREDENTIAL_PARAMS,
    Authenticator,
    CookieTokenAuthenticator,
    Unauthorized,
)
from .broker import Broker, RedisFanoutBroker
from .config import Config
from .event import ServerSentEvent
from .history import History, RedisHistory
from .http import (
    Headers,
    StartResponse,
    origin_verdict,
    preflight_headers,
    respond,
    response_head,
)
from .hub import Hub, Rejected
from .metrics import Metrics

logger = logging.getLogger("sse_gateway")

_STREAM_HEADERS = [
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-cache"),
    ("X-Accel-Buffering", "no"),  # nginx: pass each event through at once
    ("X-Content-Type-Options", "nosniff"),
]
_MAX_EVENT_ID = 128


class Gateway:
    """The WSGI application. Redis is first touched by the first request."""

    def __init__(
        self,
        config: Config,
        *,
        authenticator: Authenticator | None = None,
        history: History | None = None,
        broker: Broker | None = None,
        on_start: Callable[[Gateway], None] | None = None,
    ) -> None:
        self.config = config
        pool = redis.BlockingConnectionPool.from_url(
            config.redis_url,
            max_connections=config.redis_pool_size,
            # A reconnect storm queues handshakes for a connection; a 503 there
            # would end each browser's EventSource, so wait rather than refuse.
            timeout=30,
            decode_responses=True,
            socket_connect_timeout=2,
            socket_timeout=5,
        )
        shared = redis.Redis(connection_pool=pool)
        self.authenticator = authenticator or CookieTokenAuthenticator(
            secret=config.stream_secret,
            max_age=config.token_max_age,
            cookie_name=config.cookie_name,
        )
        self.metrics = Metrics()
        self.hub = Hub(
            config,
            broker or RedisFanoutBroker(config.redis_url, config.key_prefix),
            history or RedisHistory(shared, config.key_prefix),
            self.metrics,
        )
        self._on_start = on_start
        self._start_lock = Semaphore()
        self._opening = ServerSentEvent(retry=config.retry_ms).encode()
        self._refused: set[str] = set()

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        if path == "/healthz":
            return self._simple(start_response, method, b"ok\n")
        if path == "/readyz":
            if self._refused_setup(environ):
                return respond(start_response, 503)
            ready = self._ensure_started() and self.hub.broker.connected
            if not ready or self.hub.draining:
                return respond(start_response, 503)
            return self._simple(start_response, method, b"ready\n")
        if path == "/metrics":
            return self._simple(
                start_response,
                method,
                self.metrics.render(),
                "text/plain; version=0.0.4; charset=utf-8",
            )
        if path != self.config.path:
            return respond(start_response, 404)
        if self._refused_setup(environ):
            return respond(start_response, 500)
        return self._stream(environ, start_response, method)

    def _refused_setup(self, environ: dict[str, Any]) -> bool:
        """Whether the server's set-up keeps streams from being served (see
        :func:`.handoff.obstacle`); logged at ERROR once per process and set-up."""
        setup = handoff.obstacle(environ)
        if setup is not None and setup not in self._refused:
            self._refused.add(setup)
            logger.error(handoff.explain(setup))
        return setup is not None

    def _simple(
        self,
        start_response: StartResponse,
        method: str | None,
        body: bytes,
        content_type: str = "text/plain",
    ) -> Iterable[bytes]:
        if method != "GET":
            return respond(start_response, 405, headers=[("Allow", "GET")])
        return respond(start_response, 200, body, content_type=content_type)

    def _ensure_started(self) -> bool:
        if self.hub.started:
            return True
        with self._start_lock:
            if not self.hub.started:
                try:
                    self.hub.start()
                except redis.RedisError as exc:
                    logger.warning("cannot reach Redis (%s)", type(exc).__name__)
                    return False
                if self._on_start:
                    self._on_start(self)
        return True

    def _stream(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        method: str | None,
    ) -> Iterable[bytes]:
        allowed, cors = origin_verdict(environ, self.config.allowed_origins)
        if method not in ("GET", "OPTIONS"):
            return respond(start_response, 405, headers=[("Allow", "GET, OPTIONS")])
        if not allowed:
            self.metrics.inc("origin_rejected_total")
            return respond(start_response, 403, headers=cors)
        if method == "OPTIONS":
            return respond(start_response, 204, headers=preflight_headers(cors))
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if CREDENTIAL_PARAMS & query.keys() or self.config.cookie_name in query:
            self.metrics.inc("auth_rejected_total")
            return respond(start_response, 401, headers=cors)
        if not self._ensure_started():
            return respond(start_response, 503, headers=[*cors, ("Retry-After", "5")])
        try:
            claims = self.authenticator.authenticate(environ)
        except Unauthorized as exc:
            return self._unauthorized(start_response, exc, cors)
        chunked = environ.get("SERVER_PROTOCOL") == "HTTP/1.1"
        try:
            client = self.hub.register(claims.user_id, claims.session, chunked=chunked)
        except Rejected as exc:
            self.metrics.inc("limit_rejected_total")
            retry = [("Retry-After", str(exc.retry_after))]
            return respond(start_response, exc.status, headers=[*cors, *retry])
        client.push(self._opening)
        try:
            self.hub.catch_up(client, _cursor(environ, query), claims)
        except Unauthorized as exc:
            self.hub.remove(client)
            return self._unauthorized(start_response, exc, cors)
        except redis.RedisError:
            self.hub.remove(client)
            return respond(start_response, 503, headers=[*cors, ("Retry-After", "5")])
        self.metrics.inc("connections_total")
        client.attach(
            handoff.take(environ),
            response_head(200, [*_STREAM_HEADERS, *cors], chunked=chunked),
        )
        return []  # the response is the hub's to write now

    def _unauthorized(
        self,
        start_response: StartResponse,
        exc: Unauthorized,
        cors: Headers,
    ) -> Iterable[bytes]:
        self.metrics.inc("auth_rejected_total")
        logger.info("stream refused: %s", exc.reason)
        return respond(start_response, 401, headers=cors)


def _cursor(
    environ: dict[str, Any], query: dict[str, list[str]]
) -> tuple[str, str] | None:
    """The client's position: ``Last-Event-ID`` wins over ``?last_event_id=``.

    ``None`` when neither is given; ``("", "0-0")`` (answered with a resync) when the
    value is not an id of ours.
    """
    raw = environ.get("HTTP_LAST_EVENT_ID") or (query.get("last_event_id") or [""])[0]
    if not raw:
        return None
    parsed = wire.parse_event_id(raw) if len(raw) <= _MAX_EVENT_ID else None
    return parsed or ("", wire.ZERO_ENTRY)
