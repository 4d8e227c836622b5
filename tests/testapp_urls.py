"""Views a test drives, standing in for a site that uses monitio."""

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template import engines
from django.urls import path

import monitio

PAGE = engines["django"].from_string(
    "{% for m in messages %}<li data-id=\"{{ m.id|default:'' }}\" class=\"{{ m.tags }}\">"
    "{{ m }}</li>{% endfor %}"
    "<p id=counts>{{ messages.count_persistent_unread }}/{{ messages.count_unread }}/"
    "{{ messages.count_nonpersistent }}</p>"
)


def page(request):
    """Render the messages, as a site's base template does."""
    return HttpResponse(PAGE.render({"messages": messages.get_messages(request)}, request))


def add(request):
    """Add ``n`` messages at ``level`` with the given text, then redirect to the page."""
    level = int(request.GET.get("level", monitio.INFO))
    for i in range(int(request.GET.get("n", 1))):
        if request.GET.get("api") == "django":
            messages.add_message(request, level, f"{request.GET.get('text', 'hello')} {i}")
        else:
            monitio.add_message(
                request, level, f"{request.GET.get('text', 'hello')} {i}",
                subject=request.GET.get("subject", ""), email=bool(request.GET.get("email")),
            )
    return redirect("/page/")


def add_then_fail(request):
    """Add ``n`` messages, each inside a transaction that then rolls back."""
    for _ in range(int(request.GET.get("n", 1))):
        try:
            with transaction.atomic():
                monitio.add_message(request, monitio.WARNING, "never", email=True)
                raise RuntimeError("rollback")
        except RuntimeError:
            pass
    return JsonResponse({"ok": True})


urlpatterns = [
    path("page/", page),
    path("add/", add),
    path("add-then-fail/", add_then_fail),
]
