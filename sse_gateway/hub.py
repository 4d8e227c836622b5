"""Route live events to the connected clients of each user, and catch clients up.

One hub per process. Its reader greenlet iterates the :class:`~.broker.Broker`
and writes each entry, encoded once, straight to the sockets of its user's clients
(see :mod:`.client`); a sweeper greenlet sends heartbeats and drops clients whose
writes have been blocked too long. Connect order (no gap, no duplicate):
register the client (live events wait in its ``pending`` list), read the history
after the client's cursor (with the credential's revocations and the epoch), queue
the history, then the pending events, skipping any entry id at or before the last
one queued. When more live events arrive during the read than ``pending`` holds,
the client gets a resync after the newest of them.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterable

import gevent
from gevent.pool import Pool

from monitio import wire
from monitio.wire import StreamClaims

from .broker import Batch, Broker
from .client import Client, Offer
from .config import Config
from .event import Frames, ServerSentEvent, encode, frames
from .history import History, Replay
from .metrics import Metrics

logger = logging.getLogger("sse_gateway")


class Rejected(Exception):
    """The process will not take this stream now: HTTP ``status``, retry after."""

    def __init__(self, status: int, retry_after: int) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


class Hub:
    def __init__(
        self, config: Config, broker: Broker, history: History, metrics: Metrics
    ) -> None:
        self.config = config
        self.broker = broker
        self.history = history
        self.metrics = metrics
        self.by_user: dict[str, set[Client]] = {}
        self.count = 0
        self.draining = False
        self.started = False
        self._recatch_needed = False
        metrics.gauge("connections", "Open streams.", lambda: self.count)
        metrics.gauge("users", "Users with an open stream.", lambda: len(self.by_user))
        metrics.gauge(
            "max_connections",
            "Streams admitted (MONITIO_MAX_CONNECTIONS, fitted to the open-file limit).",
            lambda: config.max_connections,
        )
        metrics.gauge(
            "redis_connected",
            "1 if the fan-out reader reached Redis.",
            lambda: 1 if self.broker.connected else 0,
        )

    def start(self) -> None:
        """Position the broker, then start the reader and sweeper greenlets."""
        self.broker.open()
        gevent.spawn(self._read_forever)
        gevent.spawn(self._sweep_forever)
        self.started = True

    # -- clients ---------------------------------------------------------------

    def register(self, user_id: str, session: str, *, chunked: bool = True) -> Client:
        """Admit a stream of ``user_id`` or raise :class:`Rejected`."""
        if self.draining:
            raise Rejected(503, 1)
        if self.count >= self.config.max_connections:
            raise Rejected(503, 5)
        clients = self.by_user.setdefault(user_id, set())
        if len(clients) >= self.config.max_streams_per_user:
            if not clients:
                del self.by_user[user_id]
            raise Rejected(429, 10)
        client = Client(
            user_id,
            session,
            self.config.client_queue_size,
            on_lost=self.remove,
            chunked=chunked,
        )
        clients.add(client)
        self.count += 1
        return client

    def remove(self, client: Client) -> None:
        """Forget ``client`` (idempotent)."""
        clients = self.by_user.get(client.user_id)
        if clients is None or client not in clients:
            return
        clients.discard(client)
        if not clients:
            del self.by_user[client.user_id]
        self.count -= 1
        client.close()

    def catch_up(
        self,
        client: Client,
        cursor: tuple[str, str] | None,
        claims: StreamClaims | None = None,
    ) -> None:
        """Queue what ``client`` missed after ``cursor``, then its pending events.

        With the ``claims`` of a new stream, the same read refuses them when Redis
        voids them (:meth:`.history.History.connect` raises ``Unauthorized``).
        """
        client.catching_up = True
        if claims is None:
            replay = self.history.since(client.user_id, cursor, _REPLAY_LIMIT)
        else:
            replay = self.history.connect(claims, cursor, _REPLAY_LIMIT)
        if cursor is not None and replay.resync is None:
            # The client has the cursor's event and all before it: a late live copy
            # of one of them (the reader may lag) must not be sent again.
            client.last = max(client.last, wire.entry_key(cursor[1]))
        self._apply(client, replay)

    def _apply(self, client: Client, replay: Replay) -> None:
        # No greenlet switch in here, so no live event can slip in between.
        client.catching_up = False
        if client.closed:  # revoked or drained while the history was read
            return
        client.epoch = replay.epoch
        if client.missed > wire.entry_key(replay.head):
            # Events past the history read did not fit in ``pending``: continue
            # after the newest of them, and have the client refetch.
            replay.resync = replay.resync or "retention"
            replay.head = wire.entry_id(client.missed)
            self.metrics.inc("catch_up_overflows_total")
        if replay.resync:
            client.last = wire.entry_key(replay.head)
            client.push(_resync(replay))
            self.metrics.inc("resyncs_total")
        elif replay.entries:
            # One chunk, outside the live queue's bound (the replay has its own).
            chunk = [
                encode(
                    e.data,
                    event=e.event,
                    id=wire.format_event_id(replay.epoch, e.entry_id),
                )
                for e in replay.entries
                if wire.entry_key(e.entry_id) > client.last
            ]
            if chunk:
                client.push(b"".join(chunk))
            client.last = max(client.last, wire.entry_key(replay.entries[-1].entry_id))
            self.metrics.inc("events_replayed_total", len(chunk))
            self.metrics.inc("events_delivered_total", len(chunk))
        elif client.last == (0, 0):
            client.last = wire.entry_key(replay.head)
        pending, client.pending = client.pending, []
        delivered = sum(self._offer(client, key, event) for key, event in pending)
        self.metrics.inc("events_delivered_total", delivered)

    def _offer(self, client: Client, key: tuple[int, int], event: Frames) -> bool:
        """Write ``event`` to ``client``; whether it was written (not skipped)."""
        outcome = client.offer(key, event)
        if outcome is Offer.OVERFLOW:
            self.drop_slow(client)
            return False
        return outcome is Offer.QUEUED and not client.catching_up

    def drop_slow(self, client: Client) -> None:
        """Disconnect a client too slow to read; it resumes via ``Last-Event-ID``."""
        if client.closed:
            return
        self.metrics.inc("slow_client_drops_total")
        logger.info(
            "dropping a slow client (%d queued, writing for %.1fs)",
            len(client.out),
            client.writing_for(),
        )
        client.close(abort=True)
        self.remove(client)

    # -- live events -----------------------------------------------------------

    def _read_forever(self) -> None:
        while True:
            try:
                for batch in self.broker.batches():
                    self._handle(batch)
            except Exception:  # the reader must outlive any bug: it serves everyone
                logger.exception("the fan-out reader failed; restarting it")
                self._recatch_needed = True
                gevent.sleep(1)

    def _handle(self, batch: Batch) -> None:
        if batch.resumed or self._recatch_needed:
            self._recatch_needed = True
            self.metrics.inc("resumes_total")
            self._recatch_all()
            self._recatch_needed = False
        try:
            self.route(batch)
        except Exception:  # one bad batch must not stop delivery
            logger.exception("failed to route a batch of events")

    def route(self, batch: Batch) -> None:
        """Write each entry to its user's clients.

        A client's first event of the batch is sent at once; the ones after it are
        held and sent together once the batch is routed: one ``send`` instead of many
        for a burst, and no delay for the common single event.
        """
        delivered = 0
        receivers = self.by_user.get
        written: set[Client] = set()
        held: list[Client] = []
        for entry in batch.entries:
            clients = receivers(entry.user_id)
            if not clients:
                continue
            if entry.event == wire.REVOKE:
                self._revoke(clients, entry.data)
                continue
            event = frames(
                encode(
                    entry.data,
                    event=entry.event,
                    id=wire.format_event_id(batch.epoch, entry.entry_id),
                )
            )  # once, shared by every tab of the user
            for client in list(clients):
                if client in written:
                    if client.held is None:
                        client.hold()
                        held.append(client)
                else:
                    written.add(client)
                delivered += self._offer(client, entry.key, event)
        self.metrics.inc("events_merged_total", sum(client.flush() for client in held))
        self.metrics.inc("events_delivered_total", delivered)

    def _revoke(self, clients: Iterable[Client], data: str) -> None:
        try:
            session = json.loads(data).get("session")
        except (ValueError, AttributeError):
            session = None
        for client in list(clients):
            if session is None or client.session == session:
                self.metrics.inc("revoked_streams_total")
                # abort: nothing more is owed to a revoked stream, and a write
                # blocked on a stalled peer must not keep it open.
                client.close(abort=True)
                self.remove(client)

    def _recatch_all(self) -> None:
        """Catch every client up again after a Redis reconnect or epoch change."""
        clients = [c for group in self.by_user.values() for c in group]
        pool = Pool(min(16, self.config.redis_pool_size))

        def one(client: Client) -> None:
            if client.closed or client.catching_up:
                return  # a connect in progress does its own catch-up
            try:
                ms, seq = client.last
                self.catch_up(client, (client.epoch, f"{ms}-{seq}"))
            except Exception:  # noqa: BLE001 - any failure: let the browser resume
                # Let the browser reconnect with its Last-Event-ID instead.
                logger.warning("catch-up after reconnect failed; closing a stream")
                client.close()
                self.remove(client)

        for _ in pool.imap_unordered(one, clients):
            pass

    # -- housekeeping ----------------------------------------------------------

    def _sweep_forever(self) -> None:
        period = self.config.heartbeat_seconds / 2
        limit = 2 * self.config.heartbeat_seconds
        beat = False
        while True:
            gevent.sleep(period)
            beat = not beat  # a heartbeat every other sweep
            now = time.monotonic()
            for clients in list(self.by_user.values()):
                for client in list(clients):
                    if client.writing_for(now) > limit:
                        self.drop_slow(client)
                    elif beat:
                        client.heartbeat()

    def drain(self) -> None:
        """Close every stream, telling each to come back after a jittered delay."""
        self.draining = True
        base, window = self.config.retry_ms, self.config.drain_window_ms
        for clients in list(self.by_user.values()):
            for client in list(clients):
                retry = base + random.randint(0, window)
                client.close(ServerSentEvent(retry=retry).encode())
                self.remove(client)


#: Events replayed at most; more waiting than this is answered with a resync.
_REPLAY_LIMIT = 1000


def _resync(replay: Replay) -> bytes:
    data = wire.dumps({"reason": replay.resync})
    return encode(
        data, event=wire.RESYNC, id=wire.format_event_id(replay.epoch, replay.head)
    )
