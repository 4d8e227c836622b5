"""Catch-up on (re)connect: the :class:`History` seam and its Redis version.

A user's history is the capped stream ``{prefix}:u:{user_id}`` (see
:mod:`monitio.wire`). A client comes back with the SSE id of the last event it saw,
``"{epoch}:{entry_id}"``. We replay the entries after it, or answer "resync" when
history cannot fill the gap:

``epoch``      the cursor belongs to another epoch: Redis lost its data since.
``expired``    the user's stream has expired (no event for HISTORY_TTL), but the
               cursor says the client had seen some.
``retention``  entries after the cursor were trimmed, or more than ``limit`` are
               waiting (or, decided by the hub, more live events arrived while
               the history was read than a stream holds back). Streams are only
               ever trimmed from the head (``MAXLEN``; monitio never uses
               ``XDEL``), so the history is complete after the cursor exactly
               when the cursor's own entry is still there. (Redis does not record
               trimming in ``max-deleted-entry-id``, only ``XDEL``.)
               For the cursor ``0-0`` ("seen nothing") a gap means anything was
               trimmed at all: ``entries-added`` exceeds ``length`` (Redis 7).
``cursor``     the cursor is not one of ours: absent from a stream whose range
               covers it (another user's id, say), or beyond its last id.

With a resync the client refetches its list from Django (the database is the source
of truth) and continues from ``head``, the stream's last id at the time of the check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import redis

from monitio import wire
from monitio.wire import StreamClaims

from .auth import Unauthorized, refusal
from .coalesce import ScriptCalls


class Entry(NamedTuple):
    """One event of a user's history."""

    entry_id: str
    event: str
    data: str


@dataclass
class Replay:
    """What a client must receive to catch up."""

    epoch: str
    head: str
    entries: list[Entry] = field(default_factory=list)
    resync: str | None = None  # the reason, when history cannot fill the gap


class History(Protocol):
    """Read a user's missed events."""

    def since(self, user_id: str, cursor: tuple[str, str] | None, limit: int) -> Replay:
        """Return the events of ``user_id`` after ``cursor`` (``(epoch, entry_id)``,
        or ``None`` for "nothing to replay"), oldest first, or a resync.

        Callers MUST have registered the client for live events *before* calling
        this, and MUST de-duplicate by entry id, so nothing published while the
        history is read falls into a gap. ``user_id`` MUST come from the
        :class:`~sse_gateway.auth.Authenticator`: the cursor selects a position,
        never a stream. Raises ``redis.RedisError`` when Redis cannot answer.
        """
        ...

    def connect(
        self, claims: StreamClaims, cursor: tuple[str, str] | None, limit: int
    ) -> Replay:
        """:meth:`since` for a new stream of ``claims``, which first refuses a
        revoked credential or one of another epoch: raises
        :class:`~sse_gateway.auth.Unauthorized`."""
        ...


class RedisHistory:
    """:class:`History` over the per-user capped streams: one Lua call
    (:data:`monitio.wire.CONNECT_SCRIPT`) per read, atomic, so no trimming slips
    between the retention check and the read; concurrent reads share a round trip
    (:mod:`.coalesce`)."""

    def __init__(self, redis_client: redis.Redis, key_prefix: str) -> None:
        self._redis = redis_client
        self._prefix = key_prefix
        self._reads = ScriptCalls(redis_client, wire.CONNECT_SCRIPT)

    def since(self, user_id: str, cursor: tuple[str, str] | None, limit: int) -> Replay:
        return self._read(user_id, "", cursor, limit)[1]

    def connect(
        self, claims: StreamClaims, cursor: tuple[str, str] | None, limit: int
    ) -> Replay:
        revocations, replay = self._read(claims.user_id, claims.session, cursor, limit)
        reason = refusal(claims, revocations, replay.epoch)
        if reason is not None:
            raise Unauthorized(reason)
        return replay

    def _read(
        self, user_id: str, session: str, cursor: tuple[str, str] | None, limit: int
    ) -> tuple[list[str | None], Replay]:
        """The revocation times of ``user_id`` (all sessions, ``session``) and
        the replay after ``cursor``."""
        after = cursor[1] if cursor else wire.ZERO_ENTRY
        keys = [
            wire.epoch_key(self._prefix),
            wire.revoked_key(self._prefix, user_id),
            wire.user_stream_key(self._prefix, user_id),
        ]
        # Inclusive start: the cursor's own entry tells whether a gap exists.
        args = [session, after if cursor else "", limit + 2]
        epoch, revocations, flat, rows = self._run(keys, args)
        if epoch is None:  # Redis lost its data: a new epoch, then read again
            self._redis.set(keys[0], wire.new_epoch(), nx=True)
            epoch, revocations, flat, rows = self._run(keys, args)
        info = _pairs(flat) if flat else None  # no such key: never written, or expired
        head = info["last-generated-id"] if info else wire.ZERO_ENTRY
        replay = Replay(epoch=epoch, head=head)
        if cursor is None:
            return revocations, replay
        rows = rows or []
        found = bool(rows) and rows[0][0] == after
        if found:
            rows = rows[1:]
        replay.resync = _gap(cursor, epoch, info, found)
        if replay.resync is None and len(rows) > limit:
            replay.resync = "retention"
        if replay.resync is None:
            replay.entries = [_entry(i, fields) for i, fields in rows]
        return revocations, replay

    def _run(self, keys: list[str], args: list[str | int]) -> list:
        return self._reads.call(keys, args)


def _pairs(flat: list) -> dict:
    """A map from a flat ``[name, value, ...]`` reply (as Lua gets it)."""
    items = iter(flat)
    return dict(zip(items, items))


def _entry(entry_id: str, flat: list[str]) -> Entry:
    fields = _pairs(flat)
    return Entry(entry_id, fields["e"], fields["d"])


def _gap(
    cursor: tuple[str, str], epoch: str, info: dict | None, found: bool
) -> str | None:
    """Return why history cannot continue from ``cursor``, or ``None``.

    ``found`` says whether the cursor's own entry is still in the stream.
    """
    cursor_epoch, after = cursor
    if not cursor_epoch:
        return "cursor"
    if cursor_epoch != epoch:
        return "epoch"
    if info is None:
        return None if after == wire.ZERO_ENTRY else "expired"
    if found:
        return None
    if after == wire.ZERO_ENTRY:
        trimmed = info.get("entries-added", 0) > info["length"]
        return "retention" if trimmed else None
    position = wire.entry_key(after)
    if position > wire.entry_key(info["last-generated-id"]):
        return "cursor"
    first = info.get("first-entry")
    if not first or wire.entry_key(first[0]) > position:
        return "retention"
    return "cursor"
