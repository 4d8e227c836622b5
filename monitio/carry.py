"""The carry: a message users queue for themselves shows on their next pages until the
worker has stored it (read-your-writes across a redirect).

It travels in a signed cookie, ``monitio_pending`` (in the session when it does not
fit in one), is bound to its user and lasts ``PENDING_CARRY_SECONDS`` at most. A page
checks which carried messages are stored before it queries the rows, so a row the
worker writes meanwhile is shown once: never twice, never missing.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings as django_settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core import signing
from django.http import HttpRequest, HttpResponseBase

from . import payloads
from .conf import settings
from .models import Message

SESSION_KEY = "_monitio_pending"
COOKIE_NAME = "monitio_pending"
SALT = "monitio.storage.carry"
#: Carry cookies longer than this (in characters, uncompressed) are compressed.
COMPRESS_OVER = 1024


class Carry:
    """One request's part in the carry: what earlier requests carried, what it adds."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        #: The payloads this request carries, stamped with the time.
        self.new: list[dict[str, Any]] = []
        self._pending: list[Message] | None = None
        self._payloads: list[dict[str, Any]] = []

    def add(self, payload: dict[str, Any]) -> None:
        """Carry ``payload`` on later pages until the worker has stored it."""
        self.new.append({**payload, "carried_at": time.time()})

    def pending(self) -> list[Message]:
        """What earlier requests carried and the worker has not written yet (looked up
        once per request)."""
        if self._pending is None:
            user = getattr(self.request, "user", None)
            authenticated = user is not None and user.is_authenticated
            owner = str(user.pk) if authenticated else None
            horizon = time.time() - settings.PENDING_CARRY_SECONDS
            fresh: dict[str, dict[str, Any]] = {}
            for p in self._in_session() + self._in_cookie():
                if str(p["user"]) == owner and p["carried_at"] >= horizon:
                    fresh[p["id"]] = p
            stored: set[str] = set()
            if fresh:
                found = Message.objects.filter(pk__in=list(fresh)).values_list(
                    "pk", flat=True
                )
                stored = {str(pk) for pk in found}
            self._payloads = [p for p in fresh.values() if p["id"] not in stored]
            self._pending = [Message.from_payload(p) for p in self._payloads]
        return list(self._pending)

    def held(self) -> bool:
        """Whether the browser's cookie or the session carries anything (valid or not)."""
        session = getattr(self.request, "session", None)
        return COOKIE_NAME in self.request.COOKIES or (
            session is not None and SESSION_KEY in session
        )

    def save(self, response: HttpResponseBase) -> None:
        """Keep what is still unstored in the cookie, or in the session if it is too big.

        The cookie is signed (a forged or altered one is ignored) and bound to the
        user; like Django's ``CookieStorage`` it is not encrypted: it holds the
        user's own message text.
        """
        if not self.new and self._pending is None:
            # Nothing carried was added or read: like Django's storage, leave the
            # session (and so the response's Vary) and the cookie alone.
            return
        session = getattr(self.request, "session", None)
        in_session = session is not None and SESSION_KEY in session
        in_cookie = COOKIE_NAME in self.request.COOKIES
        if not (self.new or self.held()):
            return
        self.pending()
        keep = self._payloads + self.new
        value = _signed(keep) if keep else ""
        if value and len(value) <= CookieStorage.max_cookie_size:
            response.set_cookie(
                COOKIE_NAME,
                value,
                domain=django_settings.SESSION_COOKIE_DOMAIN,
                secure=django_settings.SESSION_COOKIE_SECURE or None,
                httponly=True,
                samesite=django_settings.SESSION_COOKIE_SAMESITE,
            )
            if in_session:
                del session[SESSION_KEY]
            return
        if in_cookie:
            response.delete_cookie(
                COOKIE_NAME,
                domain=django_settings.SESSION_COOKIE_DOMAIN,
                samesite=django_settings.SESSION_COOKIE_SAMESITE,
            )
        if value and session is not None:
            session[SESSION_KEY] = keep
        elif in_session:
            del session[SESSION_KEY]

    def _in_session(self) -> list[dict[str, Any]]:
        session = getattr(self.request, "session", None)
        return list(session.get(SESSION_KEY, [])) if session is not None else []

    def _in_cookie(self) -> list[dict[str, Any]]:
        """The cookie's payloads; nothing when it is absent, forged or too old."""
        value = self.request.COOKIES.get(COOKIE_NAME)
        if not value:
            return []
        try:
            carried = signing.loads(
                value, salt=SALT, max_age=settings.PENDING_CARRY_SECONDS
            )
        except (signing.BadSignature, ValueError):
            return []
        if not isinstance(carried, list):
            return []
        return [payloads.expand(p) for p in carried if isinstance(p, dict)]


def _signed(carried: list[dict[str, Any]]) -> str:
    """The cookie's value: signed, and compressed only when that pays.

    Several messages are compressed at once (Django keeps the smaller form); one is
    compressed only when it is long, which spares the common request zlib's work.
    """
    entries = [payloads.compact(p) for p in carried]
    if len(entries) > 1:
        return signing.dumps(entries, salt=SALT, compress=True)
    value = signing.dumps(entries, salt=SALT)
    if len(value) > COMPRESS_OVER:
        value = signing.dumps(entries, salt=SALT, compress=True)
    return value
