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
    {p}:rejected            hash of messages the worker could not store: message id
                            to reason (``HLEN`` counts them).

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

Stream tokens (the gateway's credential, minted by Django in a cookie) are described
with :func:`mint_token`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
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


def rejected_key(prefix: str) -> str:
    """Hash of messages the worker could not store: message id -> reason."""
    return f"{prefix}:rejected"


#: The field of a :func:`revoked_key` hash that revokes every session of the user.
ALL_SESSIONS = "*"


def revoke_entry(user_id: int | str, session: str | None) -> dict[str, str]:
    """The fields of a ``revoke`` entry on the fan-out stream (``session`` ``None``:
    every session of the user)."""
    return {"u": str(user_id), "i": "", "e": REVOKE, "d": dumps({"session": session})}


def new_epoch() -> str:
    """A random epoch, for ``SET NX`` on :func:`epoch_key`: URL-safe, so it never
    holds the ``:`` that ends the epoch in an SSE id."""
    return secrets.token_urlsafe(6)


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


# Stream tokens.
#
# The format is Django's ``signing.dumps(payload, key=secret, salt=TOKEN_SALT)``
# (JSON, base64url without padding, a base62 signing time, an HMAC-SHA256 keyed with
# SHA-256(salt + "signer" + secret)), written out here so that the gateway verifies
# tokens without importing Django.

#: Keeps stream tokens apart from anything else signed with the same secret.
TOKEN_SALT = "monitio.stream-token"

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class BadToken(ValueError):
    """A stream token that is forged, tampered with, malformed or of the wrong shape."""


class ExpiredToken(BadToken):
    """A genuine stream token signed longer ago than the maximum age allows."""


@dataclass(frozen=True)
class StreamClaims:
    """What a valid token says: whose stream, which login session, issued when, and
    in which Redis epoch."""

    user_id: str
    session: str
    issued_at: int
    epoch: str


def session_hash(session_key: str | None) -> str:
    """Return a short, non-reversible tag for a login session (never the key itself)."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:16]


def mint_token(
    user_id: int | str,
    session: str,
    *,
    secret: str,
    epoch: str,
    now: float | None = None,
) -> str:
    """Return a token for ``user_id``'s stream, bound to one login session (its
    :func:`session_hash`) and to the Redis ``epoch`` current when it is minted.

    The token is ``{value}:{signed}:{signature}``: ``value`` is the base64url
    (unpadded) of the JSON ``{"u": user id, "s": session, "t": issue time, "e":
    epoch}``, ``signed`` the issue time in base62. A token of another epoch dates
    from before Redis lost its data, revocations included, and is refused.
    ``now`` (default: the current time) is the issue time.
    """
    issued = int(time.time() if now is None else now)
    payload = {"u": str(user_id), "s": session, "t": issued, "e": epoch}
    value = _b64encode(json.dumps(payload, separators=(",", ":")).encode())
    signed = f"{value}:{_b62encode(issued)}"
    return f"{signed}:{_signature(secret, signed)}"


def verify_token(token: str, *, secret: str, max_age: int) -> StreamClaims:
    """Return the claims of ``token``.

    Raises :class:`ExpiredToken` for a genuine token signed more than ``max_age``
    seconds ago, and :class:`BadToken` for anything else that is not a genuine
    token of :func:`mint_token`'s shape.
    """
    signed, _, signature = token.rpartition(":")
    if not hmac.compare_digest(signature.encode(), _signature(secret, signed).encode()):
        raise BadToken("stream token signature does not match")
    value, _, signed_at = signed.rpartition(":")
    try:
        age = time.time() - _b62decode(signed_at)
        payload = json.loads(_b64decode(value))
    except ValueError:  # json's and base64's errors are ValueErrors too
        raise BadToken("stream token is malformed") from None
    if age > max_age:
        raise ExpiredToken(f"stream token signed {age:.0f} s ago, over {max_age} s")
    if not isinstance(payload, dict):
        raise BadToken("stream token payload is not an object")
    user_id, session, issued = payload.get("u"), payload.get("s"), payload.get("t")
    epoch = payload.get("e")
    if not (isinstance(user_id, str) and user_id and isinstance(session, str)):
        raise BadToken("stream token lacks a user or session")
    if not isinstance(issued, int) or isinstance(issued, bool):
        raise BadToken("stream token lacks its issue time")
    if not (isinstance(epoch, str) and epoch):
        raise BadToken("stream token lacks its epoch")
    return StreamClaims(user_id=user_id, session=session, issued_at=issued, epoch=epoch)


@lru_cache(maxsize=8)
def _hmac_key(secret: str) -> bytes:
    return hashlib.sha256(f"{TOKEN_SALT}signer{secret}".encode()).digest()


def _signature(secret: str, signed: str) -> str:
    digest = hmac.new(_hmac_key(secret), signed.encode(), hashlib.sha256).digest()
    return _b64encode(digest)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    # validate: refuse what is not base64url (Django's compressed form, ".…", say).
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded, altchars=b"-_", validate=True)


def _b62encode(n: int) -> str:
    if n < 0:
        raise ValueError(f"a stream token's issue time is a Unix time, not {n}")
    digits = ""
    while True:
        n, digit = divmod(n, 62)
        digits = _BASE62[digit] + digits
        if not n:
            return digits


def _b62decode(text: str) -> int:
    if not text or text.strip(_BASE62):
        raise ValueError(f"not a base62 number: {text!r}")
    n = 0
    for digit in text:
        n = n * 62 + _BASE62.index(digit)
    return n
