"""Stream credentials: short-lived, signed, and verifiable without a database.

Django mints a token for the logged-in user (:func:`mint`); the gateway verifies it
(:func:`verify`) with the same secret and never trusts a user id from the URL. Both
calls pass the key explicitly, so neither needs Django settings configured.

A token carries the Redis epoch (``monitio.wire``) it was minted in. Revocations live
in Redis, so when Redis loses its data they are gone; the gateway then refuses every
token of the old epoch, and a page simply asks Django for a fresh one.
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import dataclass

from django.core import signing

SALT = "monitio.stream-token"


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


def mint(
    user_id: int | str,
    session: str,
    *,
    secret: str,
    epoch: str,
    now: float | None = None,
) -> str:
    """Return a token for ``user_id``'s stream, bound to one login session and to
    the Redis ``epoch`` current when it is minted.

    ``now`` sets the issue time in the payload (the gateway checks it against its
    maximum age and revocations); the signature's own timestamp is always the
    current time.
    """
    issued = int(time.time() if now is None else now)
    payload = {"u": str(user_id), "s": session, "t": issued, "e": epoch}
    return signing.dumps(payload, key=secret, salt=SALT, compress=False)


def verify(token: str, *, secret: str, max_age: int) -> StreamClaims:
    """Return the claims of ``token``.

    Raises :class:`signing.BadSignature` (or its subclass ``SignatureExpired``) for a
    forged, tampered or expired token, and ``ValueError`` for a well-signed token of
    the wrong shape.
    """
    payload = _signer(secret).unsign_object(token, max_age=max_age)
    if not isinstance(payload, dict):
        raise ValueError("stream token payload is not an object")
    user_id, session, issued = payload.get("u"), payload.get("s"), payload.get("t")
    epoch = payload.get("e")
    if not (isinstance(user_id, str) and user_id and isinstance(session, str)):
        raise ValueError("stream token lacks a user or session")
    if not isinstance(issued, int):
        raise ValueError("stream token lacks its issue time")
    if not (isinstance(epoch, str) and epoch):
        raise ValueError("stream token lacks its epoch")
    return StreamClaims(user_id=user_id, session=session, issued_at=issued, epoch=epoch)


@functools.lru_cache(maxsize=4)
def _signer(secret: str) -> signing.TimestampSigner:
    # One per secret: the gateway verifies every connect with the same one, and
    # building a signer costs about as much as checking a signature.
    return signing.TimestampSigner(key=secret, salt=SALT, fallback_keys=[])
