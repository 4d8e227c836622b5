"""Who may read which stream: the :class:`Authenticator` seam and its cookie version.

Django mints the credential (``monitio.stream.stream_token``) and sets it as an
HttpOnly cookie scoped to the gateway's path; this module checks it without a database
round trip or Django (``monitio.wire.verify_token`` is a signature and age check).
What Redis knows about it (the user's revocations, the current epoch) comes with the
connect's history read, in one round trip (:meth:`.history.RedisHistory.connect`), and
:func:`refusal` judges it. A token of another epoch was minted before Redis lost its
data, revocations included: refused.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from monitio import wire
from monitio.wire import StreamClaims

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
        can choose), and MUST NOT log the credential. Revoked credentials and those
        minted before Redis lost its data (another epoch) are refused by the
        connect's history read (:meth:`.history.History.connect`), after this.
        Callers MUST call this before sending any byte of a stream.
        """
        ...


class CookieTokenAuthenticator:
    """Verify the stream token in a cookie (signature and age)."""

    def __init__(
        self,
        *,
        secret: str,
        max_age: int,
        cookie_name: str,
    ) -> None:
        self._secret = secret
        self._max_age = max_age
        self._cookie_name = cookie_name

    def authenticate(self, environ: dict[str, Any]) -> StreamClaims:
        token = cookie_value(environ.get("HTTP_COOKIE", ""), self._cookie_name)
        if not token:
            raise Unauthorized("no credential")
        try:
            claims = wire.verify_token(
                token, secret=self._secret, max_age=self._max_age
            )
        except wire.ExpiredToken:
            raise Unauthorized("expired credential") from None
        except wire.BadToken:
            raise Unauthorized("bad credential") from None
        # The signer dates the token too; the issue time in the payload must agree.
        age = time.time() - claims.issued_at
        if not -_CLOCK_SKEW <= age <= self._max_age:
            raise Unauthorized("expired credential")
        return claims


def refusal(
    claims: StreamClaims, revocations: list[str | None], epoch: str | None
) -> str | None:
    """Why Redis voids ``claims``, or ``None``: given the user's revocation times
    (all sessions, then this session) and the current epoch."""
    if claims.epoch != epoch:
        return "credential from before Redis lost its data"
    # A token issued at or before a matching revocation time is void.
    if any(at is not None and claims.issued_at <= float(at) for at in revocations):
        return "revoked credential"
    return None


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
