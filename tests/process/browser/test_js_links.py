"""monitio.js in headless Chromium links only paths on this site and drops a message
event that has expired by the time it arrives (issue 16, items 6 and 7).

The page is served by Playwright's router at http://site.test/ so the client runs
with a real origin; no stream is needed: events go through ``onMessage``, as
the stream hands them over.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from tests import procs

ORIGIN = "http://site.test"
SCRIPT = (procs.ROOT / "monitio" / "static" / "monitio" / "monitio.js").read_text()
CONFIG = {"theme": "default", "streamTokenUrl": "/token/", "jsonUrl": "/json/",
          "renderedAt": "2000-01-01T00:00:00+00:00", "csrfCookieName": "csrftoken",
          "csrfHeaderName": "X-CSRFToken", "csrfToken": "t"}
PAGE = (f'<div id="monitioMessages"></div><script id="monitio-config" type="application/json">'
        f'{json.dumps(CONFIG)}</script><script src="/monitio.js"></script>')


@pytest.fixture(scope="module")
def page(chromium) -> Iterator[Page]:
    context = chromium.new_context()
    page = context.new_page()

    def serve(route):
        path = route.request.url.removeprefix(ORIGIN)
        if path == "/":
            route.fulfill(body=PAGE, content_type="text/html")
        elif path == "/monitio.js":
            route.fulfill(body=SCRIPT, content_type="text/javascript")
        else:  # no stream: the client backs off and retries, which is all right here
            route.fulfill(status=503, body="")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("() => window.monitio && window.monitio.client")
    yield page
    context.close()


def show(page: Page, n: int, **fields) -> dict:
    message = {"id": f"m{n}", "level": 120, "tags": "info", "message": f"text {n}",
               "persistent": True, "created": timezone.now().isoformat(), **fields}
    page.evaluate("m => window.monitio.client.onMessage(m)", message)
    toast = page.query_selector(f"[data-monitio-id='m{n}']")
    link = toast and toast.query_selector("a.monitio-link")
    return {"shown": toast is not None, "href": link and link.get_attribute("href")}


OFF_SITE = ["//evil.example/", "/\\evil.example/", "/\t/evil.example/", "/\n/evil.example/",
            "/\\\t\\evil.example/", "javascript:alert(1)", "https://evil.example/"]


@pytest.mark.parametrize("url", OFF_SITE)
def test_a_url_off_this_site_is_not_linked(page, url):
    n = OFF_SITE.index(url)
    assert show(page, n, url=url) == {"shown": True, "href": None}


def test_a_path_on_this_site_is_linked(page):
    assert show(page, 100, url="/orders/12/?tab=items") == {
        "shown": True, "href": "/orders/12/?tab=items"}


def test_a_message_event_that_has_expired_is_not_shown(page):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert show(page, 200, expires=past)["shown"] is False
    assert show(page, 201, expires=future)["shown"] is True
