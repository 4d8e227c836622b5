"""Send ``settings.CONTENT_SECURITY_POLICY`` with every response.

``{stream_origin}`` in the policy becomes the origin of ``MONITIO["STREAM_URL"]``
when the gateway lives on another origin (development), so the page may open it.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from monitio.conf import settings as monitio_settings


def stream_origin() -> str:
    """Return the gateway's origin when it differs from the page's, else ``""``."""
    parts = urlsplit(monitio_settings.STREAM_URL)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        policy = settings.CONTENT_SECURITY_POLICY.format(stream_origin=stream_origin())
        self.policy = " ".join(policy.split())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
