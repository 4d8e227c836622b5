"""Live events: the :class:`Broker` seam and its Redis Streams version.

Each gateway process reads the one fan-out stream ``{prefix}:fanout`` with
``XREAD BLOCK`` on a single connection of its own, from the last id it has read.
Unlike pub/sub, a dropped connection loses nothing: the reader reconnects (with
exponential backoff and jitter) and continues from its id. What the fan-out cannot
tell us (Redis restarted empty, ``FLUSHDB``) the epoch does: every batch carries the
epoch read right after the entries, and a batch after a reconnect or an epoch change
is flagged ``resumed`` so the consumer re-runs catch-up for its clients.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import gevent
import redis

from monitio import wire

logger = logging.getLogger("sse_gateway")


class FanoutEntry(NamedTuple):
    """One entry of the fan-out stream: an event for ``user_id``, or a control."""

    user_id: str
    entry_id: str  # id in the user's own stream ("" for control events)
    event: str
    data: str
    key: tuple[int, int] = (0, 0)  # ``wire.entry_key(entry_id)``, for ordering


@dataclass
class Batch:
    """Entries read together, in fan-out order."""

    epoch: str
    entries: list[FanoutEntry] = field(default_factory=list)
    #: The connection was re-established or the epoch changed before these entries:
    #: events may have been missed, so every client's catch-up must run again.
    resumed: bool = False


class Broker(Protocol):
    """The live feed of one gateway process."""

    def open(self) -> str:
        """Fix the position from which :meth:`batches` reads, and return the epoch.

        Callers MUST call this before accepting the first client: a client
        registered after ``open()`` returns misses no live event.
        """
        ...

    def batches(self) -> Iterator[Batch]:
        """Yield batches forever, in order, reconnecting as needed; an empty batch
        at least every few seconds, so the caller can notice it should stop.

        MUST be iterated by one greenlet only.
        """
        ...

    @property
    def connected(self) -> bool:
        """Whether the last read reached Redis (for ``/readyz``)."""
        ...


class RedisFanoutBroker:
    """:class:`Broker` reading ``{prefix}:fanout`` with ``XREAD BLOCK``."""

    def __init__(
        self,
        redis_url: str,
        key_prefix: str,
        *,
        block_ms: int = 5000,
        count: int = 5000,
        max_backoff: float = 5.0,
    ) -> None:
        # A client of its own: a blocking read must not hold a pooled connection.
        self._redis = redis.Redis.from_url(
            redis_url,
            decode_responses=True,
            socket_connect_timeout=2,
            socket_timeout=block_ms / 1000 + 5,
            client_name="monitio-gateway-reader",
            max_connections=1,
        )
        # Entries as Redis sends them (field lists): parsed once, in :func:`_parse`.
        self._redis.set_response_callback("XREAD", _raw)
        self._prefix = key_prefix
        self._fanout = wire.fanout_key(key_prefix)
        self._block_ms = block_ms
        self._count = count
        self._max_backoff = max_backoff
        self._last_id = "0-0"
        self._epoch = ""
        self.connected = False

    def open(self) -> str:
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(wire.epoch_key(self._prefix), wire.new_epoch(), nx=True)
        pipe.get(wire.epoch_key(self._prefix))
        pipe.xrevrange(self._fanout, count=1)
        _, self._epoch, last = pipe.execute()
        # A concrete id, not "$": what is added between two reads is not skipped.
        self._last_id = last[0][0] if last else "0-0"
        self.connected = True
        return self._epoch

    def batches(self) -> Iterator[Batch]:
        failures = 0
        resumed = False
        while True:
            try:
                batch = self._read()
            except redis.RedisError as exc:
                self.connected = False
                failures += 1
                resumed = True
                delay = min(self._max_backoff, 0.1 * 2**failures)
                logger.warning("fan-out read failed (%s); retrying", type(exc).__name__)
                gevent.sleep(delay * random.uniform(0.5, 1.0))
                continue
            failures = 0
            self.connected = True
            if batch.epoch != self._epoch:
                self._epoch = batch.epoch
                resumed = True
            batch.resumed, resumed = resumed, False
            yield batch

    def _read(self) -> Batch:
        # One round trip: GET runs after XREAD returns, so the epoch it reads is
        # that of the entries (or newer).
        pipe = self._redis.pipeline(transaction=False)
        pipe.xread(
            {self._fanout: self._last_id}, count=self._count, block=self._block_ms
        )
        pipe.set(wire.epoch_key(self._prefix), wire.new_epoch(), nx=True)
        pipe.get(wire.epoch_key(self._prefix))
        result, _, epoch = pipe.execute()
        entries = []
        # RESP3 answers a map {stream: rows}, RESP2 a list of [stream, rows].
        streams = result.values() if isinstance(result, dict) else (r for _, r in result or ())
        for rows in streams:
            for fanout_id, fields in rows:
                self._last_id = fanout_id
                entry = _parse(fields)
                if entry is None:
                    logger.warning("skipping a malformed fan-out entry %s", fanout_id)
                    continue
                entries.append(entry)
        return Batch(epoch=epoch, entries=entries)

    def close(self) -> None:
        self._redis.close()


def _raw(response: Any, **options: Any) -> Any:
    return response


def _parse(flat: list[str]) -> FanoutEntry | None:
    """Return the entry, or ``None`` if it does not follow :mod:`monitio.wire`."""
    pairs = iter(flat)
    fields = dict(zip(pairs, pairs))
    try:
        event, entry_id = fields["e"], fields["i"]
        key = wire.entry_key(entry_id) if event != wire.REVOKE else (0, 0)
        return FanoutEntry(fields["u"], entry_id, event, fields["d"], key)
    except (KeyError, ValueError):
        return None
