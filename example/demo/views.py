"""The example site's pages. monitio's own views serve the inbox (``messages/``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError

import monitio

from .forms import EVERYONE, SendMessageForm
from .tasks import crunch_numbers


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/home.html")


@login_required
def send(request: HttpRequest) -> HttpResponse:
    """Send a message to one user, with ``add_message``, or to everyone, in bulk."""
    form = SendMessageForm(request.POST or None, sender=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        options = {
            "subject": data["subject"],
            "email": data["email"],
            "from_user": request.user,
        }
        if data["recipient"] == EVERYONE:
            monitio.create_messages(
                form.recipients, data["level"], data["body"], **options
            )
            sent_to = "everyone"
        else:
            recipient = form.recipients.get(pk=data["recipient"])
            monitio.add_message(
                request, data["level"], data["body"], user=recipient, **options
            )
            sent_to = recipient.get_username()
        # A plain Django message: shown once, on the next page, to the sender.
        messages.success(request, f"Message sent to {sent_to}.")
        return redirect("send")
    return render(request, "demo/send.html", {"form": form})


@login_required
@require_POST
def start_job(request: HttpRequest) -> HttpResponse:
    """Start the background job; it reports each step as a live message."""
    try:
        crunch_numbers.delay(request.user.pk, steps=5)
    except OperationalError:
        # monitio keeps its own tasks in an outbox when the broker is down; a job
        # the user is waiting for is better refused at once.
        messages.error(request, "The job queue is unreachable; try again shortly.")
    else:
        messages.info(request, "Report job started: watch its progress arrive.")
    return redirect("home")
