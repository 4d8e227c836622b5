"""Small HTTP helpers: plain responses, the Origin check and CORS headers.

CORS with credentials (MDN "CORSNotSupportingCredentials", CodeQL
``js/cors-misconfiguration-for-credentials``): the allowed origin is echoed only
when it is on the configured list, never ``*`` and never ``null``, always with
``Vary: Origin``. A request from any other site is refused with 403 before its
credential is even looked at, so a cross-site page cannot open a user's stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

StartResponse = Callable[..., Any]
Headers = list[tuple[str, str]]

_REASONS = {
    200: "OK",
    204: "No Content",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def respond(
    start_response: StartResponse,
    status: int,
    body: bytes = b"",
    headers: Headers | None = None,
    content_type: str = "text/plain; charset=utf-8",
) -> Iterable[bytes]:
    """Send a complete response. Error bodies are fixed words, never details."""
    reason = _REASONS[status]
    if status >= 400 and not body:
        body = f"{reason}\n".encode()
    head = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        *(headers or []),
    ]
    start_response(f"{status} {reason}", head)
    return [body]


def origin_verdict(
    environ: dict[str, Any], allowed: frozenset[str]
) -> tuple[bool, Headers]:
    """Return whether the request's ``Origin`` may read the stream, and the CORS
    headers to add. No ``Origin`` (same-origin GET) and same-host origins pass."""
    origin = environ.get("HTTP_ORIGIN")
    vary = [("Vary", "Origin")]
    if origin is None:
        return True, vary
    normal = origin.strip().rstrip("/").lower()
    if normal in allowed:
        return True, [
            *vary,
            ("Access-Control-Allow-Origin", origin.strip()),
            ("Access-Control-Allow-Credentials", "true"),
        ]
    return _same_host(normal, environ.get("HTTP_HOST", "")), vary


def _same_host(origin: str, host: str) -> bool:
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False  # "null", opaque and malformed origins
    default = 443 if parts.scheme == "https" else 80
    try:
        origin_port = parts.port or default
        want = urlsplit(f"//{host.lower()}")
        host_port = want.port or default
    except ValueError:
        return False
    return parts.hostname == want.hostname and origin_port == host_port


def preflight_headers(cors: Headers) -> Headers:
    """Headers answering an allowed CORS preflight."""
    return [
        *cors,
        ("Access-Control-Allow-Methods", "GET"),
        ("Access-Control-Allow-Headers", "Last-Event-ID, Cache-Control"),
        ("Access-Control-Max-Age", "600"),
    ]


def response_head(status: int, headers: Headers, *, chunked: bool) -> bytes:
    """The status line and headers of a response whose body we write ourselves.

    The connection closes when the body ends: chunked for HTTP/1.1, so the end is
    marked; for HTTP/1.0 the close itself ends the body.
    """
    framing = [("Transfer-Encoding", "chunked")] if chunked else []
    lines = [
        f"HTTP/1.1 {status} {_REASONS[status]}",
        *(f"{name}: {value}" for name, value in [*headers, *framing]),
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
