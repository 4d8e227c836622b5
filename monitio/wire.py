"""The Redis contract between monitio's workers and the SSE gateway.

Both sides import this module; it has no Django or Redis import, so the gateway
can use it without configuring Django.

Keys (``p`` is the configured key prefix, ``"monitio"`` by default)::

    {p}:epoch               random string, created once with SET NX. When Redis loses
                            its data a new epoch appears, and every cursor of the old
                            epoch means "resync" (Centrifugo's epoch idea).
    {p}:u:{user_id}         the user's event history: a stream capped with
                            ``XADD MAXLEN ~ HISTORY_MAXLEN`` and expiring HISTORY_TTL
                            seconds after its last event. Fields: ``e`` (event name),
                            ``d`` (JSON data).
    {p}:fanout              one stream that every gateway process reads with
                            ``XREAD BLOCK`` from its own last id, so a Redis blip
                            loses nothing. Fields: ``u`` (user id), ``i`` (the entry
                            id in the user's stream), ``e``, ``d``. Capped at
                            FANOUT_MAXLEN.
    {p}:sent:{message_id}   marks a message event as published (SET NX, one hour), so
                            a redelivered or concurrently duplicated task never
                            publishes the same message twice.
    {p}:revoked:{user_id}   hash of revocations: field ``*`` or a session hash, value
                            the Unix time before which matching stream tokens are void.

Every event reaches the user's stream and the fan-out stream atomically, in a Lua call
(:data:`PUBLISH_SCRIPT`) that publishes up to :data:`PUBLISH_BATCH` events. A stream
connect reads the user's revocations, the epoch and the history in one Lua call
(:data:`CONNECT_SCRIPT`). The SSE ``id`` of an event is ``"{epoch}:{entry_id}"``:
per user, monotonic, and revealing nothing about other users' traffic.

Events (SSE ``event:`` names) and their JSON ``data``:

``message``  a new message: :func:`message_data` fields.
``update``   a grouped message's row changed (:mod:`monitio.grouping`): the same fields as
             ``message`` with ``unread`` null (the count is unchanged); replaces
             the message with that id in place, or shows it if it is not shown.
``read``     ``{"ids": [uuid, ...], "unread": n}``: always the ids that changed, even
             for "mark all read", so a message stored meanwhile stays unread.
``unread``   ``{"ids": [uuid, ...], "unread": n}``.
``deleted``  ``{"ids": [uuid, ...], "unread": n}``.
``resync``   sent by the gateway alone: history cannot fill the gap, refetch the list.
``revoke``   control event on the fan-out stream only (``u`` is the user id,
             ``d`` is ``{"session": hash | null}``): close the matching streams.
"""

from __future__ import annotations

import json
import re
from typing import Any

MESSAGE = "message"
UPDATE = "update"
READ = "read"
UNREAD = "unread"
DELETED = "deleted"
RESYNC = "resync"
REVOKE = "revoke"

#: Events a browser may receive; ``revoke`` never leaves the gateway.
CLIENT_EVENTS = (MESSAGE, READ, UNREAD, DELETED, RESYNC, UPDATE)

#: The cursor of an empty history: "nothing seen yet".
ZERO_ENTRY = "0-0"


def epoch_key(prefix: str) -> str:
    return f"{prefix}:epoch"


def user_stream_key(prefix: str, user_id: int | str) -> str:
    return f"{prefix}:u:{user_id}"


def fanout_key(prefix: str) -> str:
    return f"{prefix}:fanout"


def sent_key(prefix: str, message_id: str) -> str:
    return f"{prefix}:sent:{message_id}"


def revoked_key(prefix: str, user_id: int | str) -> str:
    return f"{prefix}:revoked:{user_id}"


def format_event_id(epoch: str, entry_id: str) -> str:
    """Return the SSE ``id`` for a user-stream entry."""
    return f"{epoch}:{entry_id}"


def parse_event_id(value: str) -> tuple[str, str] | None:
    """Split an SSE id into ``(epoch, entry_id)``; ``None`` if it is not one of ours.

    Strict, because Redis refuses what it cannot parse as a stream id: the entry
    id is two runs of ASCII digits (``str.isdigit`` also takes ``"²"`` and other
    scripts' digits) that each fit in 64 bits.
    """
    epoch, sep, entry = value.partition(":")
    if not sep or not epoch or not _is_entry_id(entry):
        return None
    return epoch, entry


_ENTRY_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
_MAX_ID_PART = 2**64 - 1


def _is_entry_id(entry: str) -> bool:
    match = _ENTRY_ID.fullmatch(entry)
    if match is None:
        return False
    return all(int(part) <= _MAX_ID_PART for part in match.groups())


def entry_key(entry_id: str) -> tuple[int, int]:
    """Sort key of a stream entry id: ``"1700000000000-3"`` -> ``(1700000000000, 3)``."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq)


def entry_id(key: tuple[int, int]) -> str:
    """The stream entry id of a sort key (the inverse of :func:`entry_key`)."""
    return f"{key[0]}-{key[1]}"


def dumps(data: Any) -> str:
    """Encode event data compactly; the gateway forwards it without re-encoding."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


#: Seconds a published message is remembered, against duplicate publication.
SENT_TTL = 3600

#: Events published by one call of :data:`PUBLISH_SCRIPT`: Redis runs nothing else
#: while a script runs, so a call stays around a millisecond.
PUBLISH_BATCH = 200

# KEYS: epoch, fan-out stream, then per event: user stream, sent marker.
# ARGV: candidate epoch, history maxlen, history ttl, fanout maxlen, sent ttl, then
#       per event: event, data, user id, "1" if the sent marker applies else "0".
# Returns {epoch, entry id or false per event}: false when the marker already existed.
PUBLISH_SCRIPT = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local result = {redis.call('GET', KEYS[1])}
local hmax, ttl, fmax, sent_ttl = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
for i = 0, #KEYS / 2 - 2 do
  local stream, marker = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
  local event, data, user = ARGV[6 + 4 * i], ARGV[7 + 4 * i], ARGV[8 + 4 * i]
  if ARGV[9 + 4 * i] == '1' and not redis.call('SET', marker, '1', 'NX', 'EX', sent_ttl) then
    result[#result + 1] = false
  else
    local id = redis.call('XADD', stream, 'MAXLEN', '~', hmax, '*', 'e', event, 'd', data)
    redis.call('EXPIRE', stream, ttl)
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', fmax, '*', 'u', user, 'i', id, 'e', event, 'd', data)
    result[#result + 1] = id
  end
end
return result
"""


# KEYS: epoch, the user's revocations, the user's stream.
# ARGV: session hash, cursor entry id ("" for none), entries to read.
# Returns {epoch or false, {revoked "*", revoked session}, XINFO STREAM's flat reply
# or false (no stream), XRANGE from the cursor (inclusive) or false (no cursor or no
# stream)}. One call answers a stream connect: is the credential void, and what did
# it miss. Read-only (run with EVALSHA_RO), so the gateway's Redis user needs no
# write access beyond the epoch key.
CONNECT_SCRIPT = """
local result = {redis.call('GET', KEYS[1]), redis.call('HMGET', KEYS[2], '*', ARGV[1])}
if redis.call('EXISTS', KEYS[3]) == 0 then
  return {result[1], result[2], false, false}
end
result[3] = redis.call('XINFO', 'STREAM', KEYS[3])
result[4] = false
if ARGV[2] ~= '' then
  result[4] = redis.call('XRANGE', KEYS[3], ARGV[2], '+', 'COUNT', ARGV[3])
end
return result
"""


def message_data(
    *,
    id: str,
    level: int,
    tags: str,
    message: str,
    subject: str,
    safe: bool,
    persistent: bool,
    from_user: str | None,
    url: str | None,
    close_timeout: int | None,
    created: str,
    expires: str | None,
    unread: int | None,
    group: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the data of a ``message`` event.

    ``safe`` is true only for text the sender marked safe (Django's ``SafeData``);
    clients insert everything else as text. ``unread`` is the recipient's unread
    persistent count after this message, when known. ``group`` is ``null`` for a
    message without ``group_key``, else ``{"key", "count", "senders", "summary"}``:
    ``summary`` is "Ana, Ben and 49 others" (or the one sender's name), translated.
    """
    return {
        "id": id,
        "level": level,
        "tags": tags,
        "message": message,
        "subject": subject,
        "safe": safe,
        "persistent": persistent,
        "from_user": from_user,
        "url": url,
        "close_timeout": close_timeout,
        "created": created,
        "expires": expires,
        "unread": unread,
        "group": group,
    }
