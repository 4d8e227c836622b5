"""The views the end-to-end benchmark calls: ``add_message`` in a real request."""

import time

from django.http import HttpResponse
from django.urls import include, path

import monitio


def notify(request):
    """Queue one message to the logged-in user, stamped with the time of the call."""
    seq = request.GET.get("seq", "0")
    monitio.add_message(request, monitio.INFO, f"bench#{seq}@{time.time():.6f}")
    return HttpResponse(b"ok")


urlpatterns = [
    path("notify/", notify),
    path("messages/", include("monitio.urls")),
]
