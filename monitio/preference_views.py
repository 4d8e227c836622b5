"""The user's preferences: a page (GET shows the form, POST saves it) and a JSON endpoint.

Both act on the requesting user's own preferences: no user id is read from the
request. They follow the rules of :mod:`monitio.views`: login required (401 JSON to
JSON clients), changes by POST with CSRF, limited per user by
``MONITIO["STATE_CHANGE_RATE"]``.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from . import kinds, preferences
from .exceptions import InvalidPreference, PreferenceLocked
from .views import login_required, state_change


@require_http_methods(["GET", "HEAD", "POST"])
def page(request: HttpRequest) -> HttpResponse:
    """The preferences form: a checkbox per kind and channel; mandatory ones disabled."""
    return _save_page(request) if request.method == "POST" else _show_page(request)


@require_safe
@login_required
def _show_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "monitio/preferences/page.html",
        {"kinds": preferences.table(request.user), "saved": request.GET.get("saved") == "1"},
    )


@state_change
def _save_page(request: HttpRequest) -> HttpResponse:
    # Every switchable box is on the form: a box not sent is a box unticked.
    ticked = {channel: set(request.POST.getlist(channel)) for channel in kinds.CHANNELS}
    wanted = {
        (row["kind"], channel): row["kind"] in ticked[channel]
        for row in preferences.table(request.user)
        for channel in kinds.CHANNELS
        if not row["channels"][channel]["mandatory"]
    }
    preferences.change(request.user, wanted)
    return HttpResponseRedirect(reverse("monitio:preferences") + "?saved=1")


@require_http_methods(["GET", "HEAD", "POST"])
def preferences_json(request: HttpRequest) -> HttpResponse:
    """GET: ``{"kinds": [...]}``, each kind with its channels' ``enabled``, ``default``
    and ``mandatory``. POST (JSON body, CSRF header) ``{"preferences": [{"kind":
    "comment", "channel": "email", "enabled": false}, ...]}``: all or nothing; answers
    like GET with ``"ok": true``, or 400 (unknown kind or channel, malformed body) or
    403 (a mandatory kind) with ``"ok": false`` and nothing changed."""
    return _change_json(request) if request.method == "POST" else _show_json(request)


@require_safe
@login_required
def _show_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"kinds": preferences.table(request.user)})


@state_change
def _change_json(request: HttpRequest) -> HttpResponse:
    try:
        items = json.loads(request.body)["preferences"]
        if not isinstance(items, list):
            raise TypeError
        wanted = {(item["kind"], item["channel"]): item["enabled"] for item in items}
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"ok": False, "error": 'expected {"preferences": [{"kind": …, "channel": …, "enabled": …}]}'},
            status=400,
        )
    try:
        preferences.change(request.user, wanted)
    except PreferenceLocked as exc:
        return JsonResponse({"ok": False, "error": str(exc)}, status=403)
    except InvalidPreference as exc:
        return JsonResponse({"ok": False, "error": str(exc)}, status=400)
    return JsonResponse({"ok": True, "kinds": preferences.table(request.user)})
