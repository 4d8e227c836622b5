"""Who may read which stream: the :class:`Authenticator` seam and its cookie version.

Django mints the credential (``monitio.stream.stream_token``) and sets it as an
HttpOnly cookie scoped to the gateway's path; this module checks it without a database
round trip (``monitio.stream_token.verify`` is a signature and age check), plus one
Redis round trip that reads the user's revocations and the current epoch. A token of
another epoch was minted before Redis lost its data, revocations included: refused.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import redis
from django.core import signing

from monitio import stream_token, wire
from monitio.stream_token import StreamClaims

#: Query parameters that look like a credential. A request carrying one is refused
#: whatever it holds: URLs end up in logs, histories and Referer headers (RFC 9700).
CREDENTIAL_PARAMS = frozenset({"token", "access_token", "stream_token", "auth"})


#: Seconds a token's issue time may lie in the future (clocks of Django and gateway).
_CLOCK_SKEW = 60


class Unauthorized(Exception):
    """The request may not open a stream. ``reason`` is for metrics and logs only;
    it never reaches the response body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Authenticator(Protocol):
    """Turn a request into the claims of the stream it may read."""

    def authenticate(self, environ: dict[str, Any]) -> StreamClaims:
        """Return the verified claims, or raise :class:`Unauthorized`.

        Implementations MUST take the user id from a server-verified credential only,
        never from the path, the query string or ``Last-Event-ID`` (which any client
        can choose), MUST refuse revoked credentials and those minted before Redis
        lost its data (another epoch), and MUST NOT log the credential.
        Callers MUST call this before sending any byte of a stream.
        """
        ...


class CookieTokenAuthenticator:
    """Verify the stream token in a cookie, then check the user's revocations."""

    def __init__(
        self,
        *,
        secret: str,
        max_age: int,
        cookie_name: str,
        redis_client: redis.Redis,
        key_prefix: str,
    ) -> None:
        self._secret = secret
        self._max_age = max_age
        self._cookie_name = cookie_name
        self._redis = redis_client
        self._prefix = key_prefix

    def authenticate(self, environ: dict[str, Any]) -> StreamClaims:
        token = cookie_value(environ.get("HTTP_COOKIE", ""), self._cookie_name)
        if not token:
            raise Unauthorized("no credential")
        try:
            claims = stream_token.verify(
                token, secret=self._secret, max_age=self._max_age
            )
        except signing.SignatureExpired:
            raise Unauthorized("expired credential") from None
        except (signing.BadSignature, ValueError):
            raise Unauthorized("bad credential") from None
        # The signer dates the token too; the issue time in the payload must agree.
        age = time.time() - claims.issued_at
        if not -_CLOCK_SKEW <= age <= self._max_age:
            raise Unauthorized("expired credential")
        revocations, epoch = self._lookup(claims)
        if claims.epoch != epoch:
            raise Unauthorized("credential from before Redis lost its data")
        # A token issued at or before a matching revocation time is void.
        if any(at is not None and claims.issued_at <= float(at) for at in revocations):
            raise Unauthorized("revoked credential")
        return claims

    def _lookup(self, claims: StreamClaims) -> tuple[list[str | None], str | None]:
        """The user's revocation times (all sessions, this one) and the epoch, in
        one round trip. No epoch at all means Redis lost it too."""
        pipe = self._redis.pipeline(transaction=False)
        revoked = wire.revoked_key(self._prefix, claims.user_id)
        pipe.hmget(revoked, ["*", claims.session])
        pipe.get(wire.epoch_key(self._prefix))
        revocations, epoch = pipe.execute()
        return revocations, epoch


def cookie_value(header: str, name: str) -> str | None:
    """Return cookie ``name`` from a ``Cookie`` header, or ``None``.

    A small parser rather than ``http.cookies``, which gives up on the whole header
    when one unrelated cookie is malformed.
    """
    for part in header.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip() == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value
    return None
