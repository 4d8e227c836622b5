"""Django's side of the live stream: credentials for the gateway, and revocation.

:func:`stream_token` (URL name ``persistent-messages-sse``) mints a short-lived token
for the logged-in user, bound to their login session, and sets it as an HttpOnly,
``SameSite=Strict`` cookie scoped to the gateway's path (``STREAM_COOKIE_PATH``). The
browser never sees the token; the gateway reads it from the cookie.

:func:`connect_revocation_signals` ends open streams when access should end: logging
out revokes that login session's streams; deactivating a user or changing their
password revokes all of theirs. Revocation goes through Redis
(:func:`monitio.publish.revoke`), so gateways close the streams within a second or
two, and refuse the old tokens afterwards. Tokens carry Redis's epoch, so a Redis
that loses its data (and with it the revocations) voids every token minted before.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.contrib.auth import get_user_model, user_logged_out
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import publish, wire
from .conf import settings

logger = logging.getLogger("monitio")

#: User fields whose change ends the user's streams.
_WATCHED = frozenset({"password", "is_active"})


@never_cache
@require_POST
def stream_token(request: HttpRequest) -> HttpResponse:
    """Set the stream cookie; return the stream URL and the current event id.

    POST (CSRF-protected) so a cross-site page cannot mint a credential. The client
    opens ``url`` with ``?last_event_id=`` so events published since the page was
    rendered are replayed.
    """
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"ok": False, "error": "login required"}, status=401)
    if request.session.session_key is None:
        request.session.save()
    last_event_id = publish.current_event_id(user.pk)
    response = JsonResponse(
        {"url": settings.STREAM_URL, "last_event_id": last_event_id}
    )
    epoch = last_event_id.partition(":")[0]
    set_stream_cookie(response, user.pk, request.session.session_key, epoch=epoch)
    return response


def set_stream_cookie(
    response: HttpResponse,
    user_id: Any,
    session_key: str | None,
    *,
    epoch: str | None = None,
) -> HttpResponse:
    """Set a fresh stream credential for ``user_id`` on ``response``.

    The credential is bound to Redis's current ``epoch`` (read from Redis when not
    given), so it dies with the revocations if Redis loses its data.
    """
    token = wire.mint_token(
        user_id,
        wire.session_hash(session_key),
        secret=settings.STREAM_SECRET,
        epoch=epoch or current_epoch(),
    )
    response.set_cookie(
        settings.STREAM_COOKIE_NAME,
        token,
        max_age=settings.STREAM_TOKEN_MAX_AGE,
        path=settings.STREAM_COOKIE_PATH,
        domain=settings.STREAM_COOKIE_DOMAIN,
        secure=settings.STREAM_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
    return response


def current_epoch() -> str:
    """Return Redis's epoch (:mod:`monitio.wire`), creating it if Redis has none."""
    key = wire.epoch_key(settings.KEY_PREFIX)
    pipe = publish.get_client().pipeline(transaction=False)
    pipe.set(key, wire.new_epoch(), nx=True)
    pipe.get(key)
    return pipe.execute()[1]


def connect_revocation_signals() -> None:
    """Connect the signals that end a user's open streams (logout, deactivation,
    password change)."""
    user_model = get_user_model()
    user_logged_out.connect(_on_logout, dispatch_uid="monitio.stream.logout")
    pre_save.connect(
        _remember_access, sender=user_model, dispatch_uid="monitio.stream.pre"
    )
    post_save.connect(
        _on_user_saved, sender=user_model, dispatch_uid="monitio.stream.post"
    )


def _on_logout(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is None or request is None or not hasattr(request, "session"):
        return
    _revoke(user.pk, wire.session_hash(request.session.session_key))


def _remember_access(
    sender: Any, instance: Any, update_fields=None, **kwargs: Any
) -> None:
    """Note whether this save takes access away, for :func:`_on_user_saved`."""
    instance._monitio_revoke = False
    if instance.pk is None or kwargs.get("raw"):
        return
    if update_fields is not None and not _WATCHED & set(update_fields):
        return  # e.g. the last_login update on every login
    fields = [f.name for f in sender._meta.concrete_fields if f.name in _WATCHED]
    if not fields:
        return
    before = sender._default_manager.filter(pk=instance.pk).values(*fields).first()
    if before is None:
        return
    instance._monitio_revoke = before.get("password") != getattr(
        instance, "password", None
    ) or (before.get("is_active", False) and not getattr(instance, "is_active", True))


def _on_user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if getattr(instance, "_monitio_revoke", False):
        instance._monitio_revoke = False
        user_id = instance.pk
        transaction.on_commit(lambda: _revoke(user_id, None), robust=True)


def _revoke(user_id: Any, session: str | None) -> None:
    # Never let Redis trouble break a logout or a user save: log it instead.
    try:
        publish.revoke(user_id, session, int(time.time()))
    except Exception:
        logger.exception("could not revoke the live streams of user %s", user_id)
