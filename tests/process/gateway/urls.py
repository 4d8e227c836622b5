"""A site for the end-to-end test: monitio's URLs plus a view that adds a message."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.http import require_POST

import monitio


@require_POST
def send(request: HttpRequest) -> JsonResponse:
    message_id = monitio.add_message(
        request, monitio.INFO, request.POST["text"], subject=request.POST["subject"]
    )
    return JsonResponse({"id": str(message_id)})


urlpatterns = [
    path("messages/", include("monitio.urls")),
    path("send/", send),
]
