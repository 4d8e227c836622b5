"""The user's message views: inbox, detail, state changes and the JSON endpoints.

Every view acts on the requesting user's own messages only: another user's id
answers 404, exactly like an id that does not exist, so ids cannot be probed.

Anonymous requests are refused before anything else is looked at: browsers are
redirected to ``settings.LOGIN_URL``; clients that ask for JSON (``Accept:
application/json`` or ``X-Requested-With``) get ``401 {"ok": false}``.
State changes accept POST only (anything else is 405), go through Django's CSRF
protection and are limited per user (429 with ``Retry-After`` past
``MONITIO["STATE_CHANGE_RATE"]``). They answer ``{"ok": true, "unread": n}`` to JSON
clients and redirect everyone else back to ``next`` or the Referer when that is a
URL of this site, or to the inbox.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable
from datetime import datetime
from datetime import timezone as dt_timezone
from uuid import UUID

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from . import state, stream, throttle
from .i18n import in_request_language
from .models import Message
from .serialize import message_dict

INBOX_PAGE_SIZE = 25
JSON_DEFAULT_LIMIT = 20
JSON_MAX_LIMIT = 100

View = Callable[..., HttpResponse]


def wants_json(request: HttpRequest) -> bool:
    """Return whether the client asked for a JSON answer."""
    return (
        "application/json" in request.headers.get("Accept", "")
        or "X-Requested-With" in request.headers
    )


def login_required(view: View) -> View:
    """Refuse anonymous users: 401 JSON for JSON clients, a login redirect otherwise.

    Also answers a 404 as JSON to JSON clients.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            if wants_json(request):
                return JsonResponse(
                    {"ok": False, "error": "login required"}, status=401
                )
            # After logging in, come back to a page, never to a POST-only URL.
            target = (
                request.get_full_path() if request.method == "GET" else _back(request)
            )
            return redirect_to_login(target)
        try:
            return view(request, *args, **kwargs)
        except Http404:
            if wants_json(request):
                return JsonResponse({"ok": False, "error": "not found"}, status=404)
            raise

    return wrapper


def state_change(view: View) -> View:
    """A state-changing view: POST only, login required, and limited per user
    (``MONITIO["STATE_CHANGE_RATE"]``, see :mod:`.throttle`): past the limit it
    answers 429 with ``Retry-After`` and changes nothing."""

    @functools.wraps(view)
    def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        wait = throttle.retry_after(request)
        if wait is None:
            return view(request, *args, **kwargs)
        if wants_json(request):
            response: HttpResponse = JsonResponse(
                {"ok": False, "error": "too many requests"}, status=429
            )
        else:
            response = HttpResponse(
                "Too many changes at once; try again in a moment.",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
        response["Retry-After"] = str(wait)
        return response

    return require_POST(login_required(limited))


def _own(request: HttpRequest) -> QuerySet[Message]:
    """The persistent, unexpired messages of the requesting user."""
    return Message.objects.visible_to(request.user).persistent()


def _back(request: HttpRequest) -> str:
    """Return where to send the user back to: ``next``, the Referer, or the inbox.

    Only URLs of this site qualify, so a crafted link cannot bounce users elsewhere.
    """
    for candidate in (
        request.POST.get("next"),
        request.GET.get("next"),
        request.headers.get("Referer"),
    ):
        if candidate and url_has_allowed_host_and_scheme(
            candidate,
            allowed_hosts={request.get_host()},
            require_https=request.is_secure(),
        ):
            return candidate
    return reverse("monitio:inbox")


def _done(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"ok": True, "unread": state.unread_count(request.user)})
    return HttpResponseRedirect(_back(request))


@require_safe
@login_required
@in_request_language
def inbox(request: HttpRequest) -> HttpResponse:
    """List the user's messages, newest first; ``?unread=1`` shows only unread ones."""
    unread_only = request.GET.get("unread") == "1"
    rows = _own(request).select_related("from_user").order_by("-created", "-id")
    if unread_only:
        rows = rows.unread()
    page = Paginator(rows, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "monitio/inbox.html",
        {
            "page_obj": page,
            "paginator": page.paginator,
            "is_paginated": page.has_other_pages(),
            "unread_only": unread_only,
            "unread_count": state.unread_count(request.user),
        },
    )


@require_safe
@login_required
@in_request_language
def message_detail(request: HttpRequest, message_id: UUID) -> HttpResponse:
    """Show one message. Reading it here does not mark it read: the page offers that."""
    message = get_object_or_404(
        _own(request).select_related("from_user"), pk=message_id
    )
    return render(request, "monitio/detail.html", {"message": message})


@state_change
def mark_read(request: HttpRequest, message_id: UUID) -> HttpResponse:
    """Mark one of the user's messages read."""
    message = get_object_or_404(_own(request), pk=message_id)
    state.mark_read(request.user, [message.pk])
    return _done(request)


@state_change
def mark_unread(request: HttpRequest, message_id: UUID) -> HttpResponse:
    """Mark one of the user's messages unread."""
    message = get_object_or_404(_own(request), pk=message_id)
    state.mark_unread(request.user, [message.pk])
    return _done(request)


@state_change
def mark_all_read(request: HttpRequest) -> HttpResponse:
    """Mark all of the user's messages read."""
    state.mark_read(request.user)
    return _done(request)


@state_change
def delete(request: HttpRequest, message_id: UUID) -> HttpResponse:
    """Delete one of the user's messages."""
    message = get_object_or_404(_own(request), pk=message_id)
    state.delete(request.user, [message.pk])
    return _done(request)


@state_change
def delete_all_read(request: HttpRequest) -> HttpResponse:
    """Delete the messages the user has read."""
    state.delete(request.user, only_read=True)
    return _done(request)


def encode_cursor(message: Message) -> str:
    """Return an opaque cursor that points just past ``message`` (newest first)."""
    raw = f"{message.created.isoformat()}|{message.pk.hex}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """Return the ``(created, id)`` in ``cursor``, the time in UTC; raise
    ``ValueError`` if invalid.

    Only what :func:`encode_cursor` writes is accepted: an aware time in exactly
    ``isoformat()``'s form, that also exists in UTC (``9999-12-31T23:59:59-14:00``
    does not: the database layer would overflow on it).
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, _, pk = base64.urlsafe_b64decode(padded).decode().partition("|")
        when = datetime.fromisoformat(created)
        if when.tzinfo is None or when.isoformat() != created:
            raise ValueError("bad cursor time")
        return when.astimezone(dt_timezone.utc), UUID(hex=pk)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise ValueError("invalid cursor") from exc


def _limit(value: str | None) -> int:
    if value is None:
        return JSON_DEFAULT_LIMIT
    return max(1, min(int(value), JSON_MAX_LIMIT))


@require_safe
@login_required
@in_request_language
def message_json(request: HttpRequest) -> HttpResponse:
    """Return a page of the user's messages, newest first, and a cursor to the next.

    Query: ``cursor`` (from a previous answer), ``limit`` (1-100, default 20),
    ``unread=1`` (unread messages only). Ordering by ``(created, id)`` makes the
    pages stable: messages that arrive meanwhile are newer, so they never shift a
    later page, and none is listed twice or skipped.
    """
    rows = _own(request).select_related("from_user").order_by("-created", "-id")
    if request.GET.get("unread") == "1":
        rows = rows.unread()
    try:
        limit = _limit(request.GET.get("limit"))
        if request.GET.get("cursor"):
            created, pk = decode_cursor(request.GET["cursor"])
            rows = rows.filter(Q(created__lt=created) | Q(created=created, id__lt=pk))
    except ValueError:
        return JsonResponse({"ok": False, "error": "bad cursor or limit"}, status=400)
    page = list(rows[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return JsonResponse(
        {
            "messages": [message_dict(m) for m in page],
            "next": encode_cursor(page[-1]) if more else None,
            "unread": state.unread_count(request.user),
        }
    )


@require_safe
@login_required
def message_unread_count(request: HttpRequest) -> HttpResponse:
    """Return ``{"unread": n}``, the user's unread persistent messages."""
    return JsonResponse({"unread": state.unread_count(request.user)})


def stream_token_by_channel(request: HttpRequest, channel: str) -> HttpResponse:
    """The original's stream URL, ``stream/<username>``: the stream-token view.

    ``channel`` is ignored. The original chose the stream by the name in the URL;
    here the credential is minted for the signed-in user alone, whatever it says.
    """
    return stream.stream_token(request)
