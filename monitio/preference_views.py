"""The user's preferences: a page (GET shows the form, POST saves it) and a JSON endpoint.

Both also set the e-mail policy per kind, the time zone and the quiet hours (see
:mod:`monitio.email_settings`); a policy, time zone or hour that does not exist is
refused with a clear error (400) and nothing is changed.

Both act on the requesting user's own preferences: no user id is read from the
request. They follow the rules of :mod:`monitio.views`: login required (401 JSON to
JSON clients), changes by POST with CSRF, limited per user by
``MONITIO["STATE_CHANGE_RATE"]``.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from . import email_policy, email_settings, kinds, preferences
from .exceptions import InvalidPreference, PreferenceLocked
from .views import login_required, state_change


@require_http_methods(["GET", "HEAD", "POST"])
def page(request: HttpRequest) -> HttpResponse:
    """The preferences form: a checkbox per kind and channel; mandatory ones disabled."""
    return _save_page(request) if request.method == "POST" else _show_page(request)


@require_safe
@login_required
def _show_page(request: HttpRequest) -> HttpResponse:
    return _render_page(request, saved=request.GET.get("saved") == "1")


def _render_page(request: HttpRequest, saved: bool = False, error: str = "", status: int = 200) -> HttpResponse:
    email = email_settings.table(request.user)
    rows = preferences.table(request.user)
    for row in rows:
        row["email_policy"] = email_policy.parse(email["policies"][row["kind"]]["policy"])
    return render(
        request,
        "monitio/preferences/page.html",
        {"kinds": rows, "email": email, "saved": saved, "error": error,
         "modes": [m for m in email_policy.MODES if m != email_policy.OFF],
         "hours": range(24), "weekdays": range(7)},
        status=status,
    )


@state_change
def _save_page(request: HttpRequest) -> HttpResponse:
    # Every switchable box is on the form: a box not sent is a box unticked.
    ticked = {channel: set(request.POST.getlist(channel)) for channel in kinds.CHANNELS}
    rows = preferences.table(request.user)
    wanted = {
        (row["kind"], channel): row["kind"] in ticked[channel]
        for row in rows
        for channel in kinds.CHANNELS
        if not row["channels"][channel]["mandatory"]
    }
    try:
        policies = {
            row["kind"]: _posted_policy(request, row["kind"])
            for row in rows
            if f"policy-{row['kind']}" in request.POST
            and (row["kind"] in ticked[kinds.EMAIL] or row["channels"][kinds.EMAIL]["mandatory"])
        }
        with transaction.atomic():
            preferences.change(request.user, wanted)
            email_settings.change_policies(request.user, policies)
            if "time_zone" in request.POST:
                email_settings.change_settings(
                    request.user, time_zone=request.POST["time_zone"].strip(),
                    quiet_start=_posted_hour(request, "quiet_start"),
                    quiet_end=_posted_hour(request, "quiet_end"),
                )
    except InvalidPreference as exc:
        return _render_page(request, error=str(exc), status=400)
    return HttpResponseRedirect(reverse("monitio:preferences") + "?saved=1")


def _posted_policy(request: HttpRequest, key: str) -> str:
    """The policy the form's fields for kind ``key`` describe, e.g. "digest_daily:8"."""
    mode = request.POST[f"policy-{key}"]
    numbers = {
        email_policy.UNREAD_AFTER: ["minutes"],
        email_policy.DIGEST_DAILY: ["hour"],
        email_policy.DIGEST_WEEKLY: ["weekday", "hour"],
    }.get(mode, [])
    return ":".join([mode, *(request.POST.get(f"{name}-{key}", "").strip() for name in numbers)])


def _posted_hour(request: HttpRequest, name: str) -> int | None:
    value = request.POST.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise email_policy.InvalidPolicy(f"{name} must be a local hour, 0-23, not {value!r}.") from None


@require_http_methods(["GET", "HEAD", "POST"])
def preferences_json(request: HttpRequest) -> HttpResponse:
    """GET: ``{"kinds": [...], "email": {...}}``, each kind with its channels'
    ``enabled``, ``default`` and ``mandatory``; ``email``: ``time_zone``,
    ``quiet_start``, ``quiet_end`` and ``policies`` per kind. POST (JSON body, CSRF
    header) any of ``{"preferences": [{"kind": "comment", "channel": "email",
    "enabled": false}, ...], "email_policies": {"comment": "digest_daily:8"},
    "email_settings": {"time_zone": "Europe/Warsaw", "quiet_start": 22, "quiet_end":
    7}}``: all or nothing; answers like GET with ``"ok": true``, or 400 (unknown kind,
    channel, policy or time zone, malformed body) or 403 (a mandatory kind) with
    ``"ok": false`` and nothing changed."""
    return _change_json(request) if request.method == "POST" else _show_json(request)


@require_safe
@login_required
def _show_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"kinds": preferences.table(request.user), "email": email_settings.table(request.user)})


@state_change
def _change_json(request: HttpRequest) -> HttpResponse:
    try:
        body = json.loads(request.body)
        items = body.get("preferences", [])
        policies = body.get("email_policies", {})
        own: dict[str, Any] = body.get("email_settings", {})
        if not (isinstance(items, list) and isinstance(policies, dict) and isinstance(own, dict)):
            raise TypeError
        if not (items or policies or own) or set(own) - {"time_zone", "quiet_start", "quiet_end"}:
            raise KeyError
        wanted = {(item["kind"], item["channel"]): item["enabled"] for item in items}
    except (ValueError, KeyError, TypeError, AttributeError):
        return JsonResponse(
            {"ok": False, "error": 'expected {"preferences": [{"kind": …, "channel": …, "enabled": …}]}, '
                                   '"email_policies": {kind: policy} and/or "email_settings": '
                                   '{"time_zone": …, "quiet_start": …, "quiet_end": …}'},
            status=400,
        )
    try:
        with transaction.atomic():
            preferences.change(request.user, wanted)
            email_settings.change_policies(request.user, policies)
            if own:
                email_settings.change_settings(request.user, **own)
    except PreferenceLocked as exc:
        return JsonResponse({"ok": False, "error": str(exc)}, status=403)
    except InvalidPreference as exc:
        return JsonResponse({"ok": False, "error": str(exc)}, status=400)
    return JsonResponse(
        {"ok": True, "kinds": preferences.table(request.user), "email": email_settings.table(request.user)}
    )
