"""One-click unsubscribe (RFC 8058): a signed link per user and kind, and its view.

Every e-mail of a kind whose e-mail users may turn off carries::

    List-Unsubscribe: <https://example.com/messages/unsubscribe/<token>/>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click

and the same link in its body. The token is signed with ``SECRET_KEY`` (salted, so no
other signed value of the site can pass for one), names the user and the kind, and
expires after ``MONITIO["UNSUBSCRIBE_MAX_AGE"]`` seconds. A POST to the link, as a
mail provider sends it (no cookie, no CSRF token), turns that kind's e-mail off for
that user; a GET, the link clicked in the body, shows a page whose button POSTs. A
forged or expired token, an unknown user or kind, or a mandatory kind answer 4xx
and change nothing. A digest's link names all its kinds (:func:`link_many`) and
turns them all off. E-mails of a kind users cannot turn off carry no link: a
one-click unsubscribe that is refused would mislead the mail provider.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import kinds, preferences
from .conf import settings
from .exceptions import UnknownKind

logger = logging.getLogger("monitio")

SALT = "monitio.unsubscribe"
#: Joins the kinds of a digest's link (kind keys never contain it).
SEPARATOR = ","

#: The ``List-Unsubscribe-Post`` value that says one POST unsubscribes (RFC 8058).
ONE_CLICK = "List-Unsubscribe=One-Click"


def make_token(user_id: Any, kind: str) -> str:
    """A token that turns off ``kind``'s e-mail for ``user_id``, dated now."""
    return signing.dumps([str(user_id), kind], salt=SALT)


def read_token(token: str) -> tuple[str, str]:
    """The ``(user id, kind)`` of ``token``; raise ``signing.BadSignature`` (or its
    subclass ``SignatureExpired``) when it is forged, altered or too old."""
    value = signing.loads(token, salt=SALT, max_age=settings.UNSUBSCRIBE_MAX_AGE)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise signing.BadSignature("not an unsubscribe token")
    return value[0], value[1]


def link(user_id: Any, kind: str) -> str | None:
    """The absolute unsubscribe URL for e-mails of ``kind`` to ``user_id``, or ``None``
    when users cannot turn that e-mail off, or ``MONITIO["SITE_URL"]`` is not set."""
    if not preferences.delivered_kind(kind).switchable(kinds.EMAIL):
        return None
    if not settings.SITE_URL:
        logger.warning('E-mail sent without an unsubscribe link: set MONITIO["SITE_URL"] (monitio.W007).')
        return None
    path = reverse("monitio:unsubscribe", args=[make_token(user_id, kind)])
    return settings.SITE_URL.rstrip("/") + path


def link_many(user_id: Any, keys: list[str]) -> str | None:
    """One URL turning off the e-mail of every kind in ``keys`` (a digest's), or
    ``None`` when users cannot turn any of them off."""
    keys = [k for k in keys if preferences.delivered_kind(k).switchable(kinds.EMAIL)]
    if len(keys) <= 1:
        return link(user_id, keys[0]) if keys else None
    if not settings.SITE_URL:
        return link(user_id, keys[0])  # None, and the warning
    path = reverse("monitio:unsubscribe", args=[make_token(user_id, SEPARATOR.join(keys))])
    return settings.SITE_URL.rstrip("/") + path


def headers(url: str | None) -> dict[str, str]:
    """The RFC 8058 headers for an e-mail whose unsubscribe link is ``url``."""
    if url is None:
        return {}
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK}


# Exempt from CSRF, and only this view: a mail provider's one-click POST carries no
# cookie and no CSRF token by design (RFC 8058). CSRF protects a user's session from
# requests forged by another site; this view uses no session: the signed token in the
# URL is the whole credential, and whoever holds it could POST it anyway.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: confirm (the link in the e-mail's body); POST: turn the kind's e-mail off."""
    try:
        user_id, key = read_token(token)
    except signing.SignatureExpired:
        return _page(request, "expired", status=410)
    except signing.BadSignature:
        return _page(request, "invalid", status=400)
    try:
        found = [kinds.get_kind(k) for k in key.split(SEPARATOR)]
    except UnknownKind:
        return _page(request, "invalid", status=404)
    kind = found[0] if len(found) == 1 else _Several(found)
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return _page(request, "invalid", status=404)
    if not all(k.switchable(kinds.EMAIL) for k in found):
        return _page(request, "mandatory", kind=kind, status=403)
    if request.method == "POST":
        preferences.change(user, {(k.key, kinds.EMAIL): False for k in found})
        return _page(request, "done", kind=kind)
    subscribed = any(preferences.allows(user.pk, k.key, kinds.EMAIL) for k in found)
    return _page(request, "confirm" if subscribed else "done", kind=kind)


class _Several:
    """The kinds of one digest link, labelled together on the page."""

    def __init__(self, found: list[kinds.Kind]) -> None:
        self.label = ", ".join(str(k.label) for k in found)


def _page(
    request: HttpRequest, state: str, kind: kinds.Kind | None = None, status: int = 200
) -> HttpResponse:
    response = render(
        request,
        "monitio/unsubscribe/page.html",
        {"state": state, "kind": kind, "action": request.path},
        status=status,
    )
    # The URL holds a credential: keep it out of Referer headers and caches.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response
