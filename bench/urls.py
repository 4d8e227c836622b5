"""The views the end-to-end benchmark calls: ``add_message`` in a real request."""

import time

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path

import monitio


@login_required
def notify(request):
    """Queue one message to the logged-in user, stamped with the time of the call.

    ``login_required``, as a view for signed-in users is: the user is loaded from the
    session before the view runs, so the clock starts at ``add_message`` rather than
    in the site's authentication (``request.user`` is lazy, and ``add_message`` would
    otherwise be the first to read it)."""
    seq = request.GET.get("seq", "0")
    monitio.add_message(request, monitio.INFO, f"bench#{seq}@{time.time():.6f}")
    return HttpResponse(b"ok")


urlpatterns = [
    path("notify/", notify),
    path("messages/", include("monitio.urls")),
]
