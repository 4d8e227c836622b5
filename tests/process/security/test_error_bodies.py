"""S15: error bodies leak no tracebacks, paths, URLs or secrets, from Django's views,
from the gateway reached through nginx, and while Redis is down.

The gateway suite checks the gateway's own bodies directly. Here: every error a
client can provoke from monitio's Django views (404, 405, 403 CSRF, 400 bad cursor
or limit, 302 to login), the gateway's answers through the documented nginx
location (401, 403, 404, 405, 429, an oversized header, a garbage Last-Event-ID),
the gateway and the views with Redis unreachable, and nginx's own 502 while the
gateway is down. ``DEBUG`` is ``False``, as in production.

Printed::

    S15 error_bodies=… leaks=0 statuses=[…] nginx_502_shows_version=…
"""

from __future__ import annotations

import signal

import httpx
from django.test import Client
from django.urls import reverse

from tests import procs
from tests.gateways import mint
from tests.sseclient import Stream

from .attacks import INTERNALS, browser_for


def _django_errors(alice, bob_message_id: str) -> list[tuple[int, str]]:
    anonymous, browser, csrf = Client(), Client(), browser_for(alice)
    browser.force_login(alice)
    answers = [
        browser.get(reverse("monitio:message_detail", args=[bob_message_id])),
        browser.post(reverse("monitio:message_mark_read", args=[bob_message_id])),
        browser.get(reverse("monitio:message_mark_read", args=[bob_message_id])),
        browser.get(reverse("monitio:message_delete_all")),
        browser.get("/messages/does-not-exist/"),
        browser.get(reverse("monitio:message_json"), {"cursor": "%%%not-base64"}),
        browser.get(reverse("monitio:message_json"), {"cursor": "A" * 5000}),
        browser.get(reverse("monitio:message_json"), {"limit": "ten"}),
        browser.get(reverse("monitio:message_json"), {"limit": "1e309"}),
        browser.get(
            reverse("monitio:message_json"), {"cursor": "MjAyNnxub3QtYS11dWlk"}
        ),
        browser.get(reverse("monitio:persistent-messages-sse")),
        csrf.post(reverse("monitio:message_mark_all_read")),
        csrf.post(reverse("monitio:persistent-messages-sse")),
        anonymous.post(
            reverse("monitio:persistent-messages-sse"), HTTP_ACCEPT="application/json"
        ),
        anonymous.get(reverse("monitio:message_json"), HTTP_ACCEPT="application/json"),
    ]
    return [(r.status_code, r.content.decode("utf-8", "replace")) for r in answers]


def _gateway_errors(port: int) -> list[tuple[int, str]]:
    """Raw requests (a browser library would refuse to send some of them)."""
    token = f"monitio_stream={mint(1)}"
    requests = [
        ("GET", "/sse/", None, {}),
        ("GET", "/sse/", "monitio_stream=forged", {}),
        ("GET", "/sse/?token=x", None, {}),
        ("POST", "/sse/", token, {}),
        ("GET", "/sse/", token, {"Origin": "https://evil.example"}),
        ("GET", "/sse/x/../../etc/passwd", None, {}),
        (
            "GET",
            "/sse/",
            "monitio_stream=" + "\x7f" * 100,
            {"Last-Event-ID": "\x00" * 50},
        ),
        ("GET", "/sse/", token, {"X-Huge": "h" * 20_000}),
        ("GET", "/sse/", "monitio_stream=" + "a" * 20_000, {}),
        ("GET", "/sse/", "\x00\x01=\x02", {"Last-Event-ID": "../../etc/passwd"}),
    ]
    answers = []
    for method, path, cookie, headers in requests:
        stream = Stream(port, path, cookie=cookie, headers=headers, method=method)
        status = stream.status()
        stream.wait_end(5)
        stream.close()
        answers.append((status, stream.response.body.decode("utf-8", "replace")))
    return answers


def test_error_bodies_leak_nothing(start_gateway, start_nginx, redis_client, alice, bob):
    from monitio import INFO
    from monitio.models import Message

    bobs = Message.objects.create(user=bob, level=INFO, message="bob's")
    bodies = _django_errors(alice, str(bobs.pk))
    gw = start_gateway(MONITIO_MAX_STREAMS_PER_USER="1")
    proxy = start_nginx(gw.port)
    bodies += _gateway_errors(proxy.port)
    held = httpx.Client(timeout=None)
    with held.stream(
        "GET",
        f"http://127.0.0.1:{proxy.port}/sse/",
        cookies={"monitio_stream": mint(1)},
    ):
        r = httpx.get(
            f"http://127.0.0.1:{proxy.port}/sse/",
            timeout=10,
            cookies={"monitio_stream": mint(1)},
        )
        bodies.append((r.status_code, r.text))  # 429: the one stream allowed is open
    held.close()

    dead_redis = f"redis://127.0.0.1:{procs.free_port()}/0"
    dead = start_gateway(MONITIO_REDIS_URL=dead_redis, wait_ready=False)
    via_dead = start_nginx(dead.port)
    r = httpx.get(
        f"http://127.0.0.1:{via_dead.port}/sse/",
        cookies={"monitio_stream": mint(1)},
        timeout=15,
    )
    bodies.append((r.status_code, r.text))
    gw.stop(signal.SIGKILL)
    r = httpx.get(
        f"http://127.0.0.1:{proxy.port}/sse/",
        cookies={"monitio_stream": mint(1)},
        timeout=10,
    )
    bodies.append((r.status_code, r.text))
    shows_version = "nginx/" in r.text

    leaks = [(status, body[:200]) for status, body in bodies if INTERNALS.search(body)]
    statuses = sorted({status for status, _ in bodies})
    print(
        f"\nS15 error_bodies={len(bodies)} leaks={len(leaks)} statuses={statuses} "
        f"nginx_502_shows_version={'yes' if shows_version else 'no'}"
    )
    assert leaks == []
    assert all(status >= 300 for status, _ in bodies)
    assert {401, 403, 404, 405, 429, 502, 503} <= set(statuses)
