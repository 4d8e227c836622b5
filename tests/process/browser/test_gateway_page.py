"""monitio.js in headless Chromium, same origin behind docs/nginx.conf (R10 via
nginx in a browser, R23, S10 for live inserts, dedupe, resync, themes).

The stack: nginx (the whole documented server block) -> gunicorn serving Django
(tests.process.browser.gateway_settings) and the gateway. Events are published straight to
Redis with ``monitio.publish``; the tests look at the page the way a user would.
"""

from __future__ import annotations

import re
import signal
import time
import uuid
from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import timezone

from monitio import publish, wire
from monitio.models import Message
from tests import procs
from tests.gateways import GatewayProcess

TOKEN_MAX_AGE = "3"

#: Records toasts as they are inserted, and CSP violations.
RECORDER = """
window.__xss = 0; window.__toasts = []; window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective));
new MutationObserver(records => { for (const r of records) for (const n of r.addedNodes)
  if (n.nodeType === 1 && n.matches('[data-monitio-id]')) window.__toasts.push(
    {id: n.dataset.monitioId, text: n.textContent,
     tags: [...n.querySelectorAll('*')].map(e => e.tagName.toLowerCase())});
}).observe(document, {childList: true, subtree: true});
"""


class Site:
    def __init__(self, tmp_path) -> None:
        self.dir = tmp_path
        self.port = procs.free_port()
        self.web_port = procs.free_port()
        self.gateway = GatewayProcess(
            tmp_path / "gateway.log",
            MONITIO_STREAM_TOKEN_MAX_AGE=TOKEN_MAX_AGE,
            MONITIO_HEARTBEAT_SECONDS="2",
        )
        self.web = self.nginx = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Site:
        self.gateway.start()
        self.web = procs.start(
            [
                str(procs.VENV_BIN / "gunicorn"),
                "-w",
                "2",
                "--no-control-socket",
                "-b",
                f"127.0.0.1:{self.web_port}",
                "tests.wsgi:application",
            ],
            self.dir / "web.log",
            DJANGO_SETTINGS_MODULE="tests.process.browser.gateway_settings",
            MONITIO_STREAM_TOKEN_MAX_AGE=TOKEN_MAX_AGE,
        )
        procs.wait_for_port(self.web_port, proc=self.web)
        self.nginx = procs.start(
            ["/usr/sbin/nginx", "-p", str(self.dir), "-c", str(self._nginx_conf())],
            self.dir / "nginx.out",
        )
        procs.wait_for_port(self.port, proc=self.nginx)
        return self

    def _nginx_conf(self):
        site = (procs.ROOT / "docs" / "nginx.conf").read_text()
        site = site.replace(
            "server 127.0.0.1:8001;", f"server 127.0.0.1:{self.gateway.port};"
        )
        site = site.replace(
            "server 127.0.0.1:8000;", f"server 127.0.0.1:{self.web_port};"
        )
        site = re.sub(r"listen 80;", f"listen 127.0.0.1:{self.port};", site)
        d = self.dir
        conf = d / "nginx.conf"
        conf.write_text(
            f"daemon off; pid {d}/nginx.pid; error_log {d}/error.log warn;\n"
            "events { worker_connections 256; }\n"
            # The log says whether the stream cookie came along, never its value.
            "http { map $cookie_monitio_stream $stream_cookie "
            "{ '' no; default yes; }\n"
            'log_format withcookie \'$remote_addr [$time_local] "$request" $status '
            "$body_bytes_sent stream_cookie=$stream_cookie';\n"
            f"access_log {d}/access.log withcookie; client_body_temp_path {d}/b; "
            f"proxy_temp_path {d}/p; fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; "
            f"scgi_temp_path {d}/s;\n{site}\n}}\n"
        )
        return conf

    def stop(self) -> None:
        for proc in (self.nginx, self.web):
            if proc is not None:
                procs.stop(proc)
        self.gateway.stop(signal.SIGKILL)


@pytest.fixture
def site(transactional_db, redis_client, tmp_path) -> Iterator[Site]:
    site = Site(tmp_path)
    try:
        yield site.start()
    finally:
        site.stop()  # also what started before a failed start


@pytest.fixture
def open_page(site, alice, chromium):
    contexts = []

    def open_(theme: str = "default"):
        client = Client()
        client.force_login(alice)
        context = chromium.new_context()
        contexts.append(context)
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": site.url,
                }
            ]
        )
        context.add_init_script(RECORDER)
        page = context.new_page()
        page.goto(f"{site.url}/page/?theme={theme}")
        page.wait_for_function(
            "() => window.monitio && window.monitio.client && "
            "window.monitio.client.source && "
            "window.monitio.client.source.readyState === 1"
        )
        return page

    yield open_
    for context in contexts:
        context.close()


def message(user, text: str, **extra) -> dict:
    data = wire.message_data(
        id=str(extra.pop("id", uuid.uuid4())),
        level=120,
        tags="info",
        message=text,
        subject=extra.pop("subject", ""),
        safe=extra.pop("safe", False),
        persistent=True,
        from_user=None,
        url=None,
        close_timeout=extra.pop("close_timeout", None),
        created=timezone.now().isoformat(),
        expires=None,
        unread=extra.pop("unread", None),
    )
    publish.publish(user.pk, wire.MESSAGE, data)
    return data


def toasts(page) -> list[dict]:
    return page.evaluate("() => window.__toasts")


def wait_toasts(page, count: int, timeout: float = 15_000) -> list[dict]:
    page.wait_for_function(f"() => window.__toasts.length >= {count}", timeout=timeout)
    return toasts(page)


def test_toast_badge_dedupe_and_text_rendering(open_page, alice):
    page = open_page()
    first = message(
        alice,
        '<img src=x onerror="window.__xss++"> & <b>literal</b>',
        subject="<i>S</i>",
        unread=1,
    )
    message(alice, "again", id=first["id"], unread=1)  # the same message id, replayed
    message(alice, "<b>bold</b>", safe=True, unread=2)
    shown = wait_toasts(page, 2)
    page.wait_for_timeout(300)
    shown = toasts(page)
    assert [t["id"] for t in shown] == [first["id"], shown[1]["id"]]
    assert first["message"] in shown[0]["text"] and "<i>S</i>" in shown[0]["text"]
    assert not {"img", "i"} & set(shown[0]["tags"])
    assert "b" in shown[1]["tags"]  # safe: true is inserted as HTML
    assert page.inner_text("#badge") == "2"
    assert (
        page.evaluate("() => window.__xss") == 0
        and page.evaluate("() => window.__csp") == []
    )
    print(
        "S10 live_insert literal=yes safe_true_as_html=yes executed=0 csp_violations=0 "
        "dedupe_by_uuid=yes"
    )


def test_read_and_deleted_events_close_toasts_in_every_tab(open_page, alice):
    tabs = [open_page(), open_page()]
    sent = [message(alice, f"m{n}", unread=n + 1) for n in range(3)]
    for tab in tabs:
        wait_toasts(tab, 3)
    publish.publish(alice.pk, wire.READ, {"ids": [sent[0]["id"]], "unread": 2})
    publish.publish(alice.pk, wire.DELETED, {"ids": [sent[1]["id"]], "unread": 1})
    for tab in tabs:
        tab.wait_for_function(
            "() => document.querySelectorAll('[data-monitio-id]').length === 1"
        )
        assert tab.inner_text("#badge") == "1"
    publish.publish(alice.pk, wire.READ, {"ids": None, "unread": 0})
    for tab in tabs:
        tab.wait_for_function(
            "() => document.querySelectorAll('[data-monitio-id]').length === 0"
        )
        assert tab.inner_text("#badge") == "0"


def test_close_timeout_and_close_button(open_page, alice):
    page = open_page("bootstrap5")
    message(alice, "short-lived", close_timeout=300)
    kept = message(alice, "kept")
    wait_toasts(page, 2)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-monitio-id]').length === 1"
    )
    toast = page.locator(f"[data-monitio-id='{kept['id']}']")
    assert "alert-info" in toast.get_attribute("class")
    toast.get_by_role("button", name="Close").click()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-monitio-id]').length === 0"
    )


def test_token_expiry_then_drop_refreshes_token_and_misses_nothing(
    open_page, alice, site
):
    """R23: the cookie has expired when the connection drops; the browser's own
    retry gets 401 and closes; monitio.js fetches a new token and reopens."""
    page = open_page()
    message(alice, "before")
    wait_toasts(page, 1)
    time.sleep(int(TOKEN_MAX_AGE) + 1)  # the stream cookie is gone now
    # A quick restart: the browser's own retry (after retry: 2000 ms) reaches the
    # new process, without a cookie now, and gets 401.
    site.gateway.stop(signal.SIGKILL)
    missed_while_down = [message(alice, f"during-{n}") for n in range(3)]
    site.gateway.start()
    after = message(alice, "after")
    shown = wait_toasts(page, 5, timeout=30_000)
    ids = [t["id"] for t in shown]
    expected = [m["id"] for m in [*missed_while_down, after]]
    missed = len(set(expected) - set(ids))
    print(
        f"R23 token_expired_then_drop got_401=yes token_refreshed=yes reopened=yes "
        f"missed={missed} duplicates={len(ids) - len(set(ids))}"
    )
    assert missed == 0 and len(ids) == len(set(ids))
    log = (site.dir / "access.log").read_text()
    assert re.search(r'"GET /sse/\?last_event_id=\S+ HTTP/1.1" 401', log)
    assert log.count('"POST /messages/stream/ HTTP/1.1" 200') >= 2


def test_resync_refetches_the_list_and_badge(open_page, alice, redis_client):
    page = open_page()
    message(alice, "live", unread=1)
    wait_toasts(page, 1)
    row = Message.objects.create(user=alice, level=120, message="only in the database")
    redis_client.flushdb()  # Redis lost everything: the next connect must resync
    publish.publish(alice.pk, wire.UNREAD, {"ids": [], "unread": 5})
    shown = wait_toasts(page, 2, timeout=20_000)
    assert shown[1]["id"] == str(row.id)
    page.wait_for_function("() => document.querySelector('#badge').textContent === '1'")


def test_mark_read_in_one_tab_updates_the_other(open_page, alice, worker_process):
    """R22: tab A's "Mark as read" -> Django -> Celery worker -> gateway -> tab B."""
    import monitio

    tab_a, tab_b = open_page(), open_page()
    message_id = str(monitio.create_message(alice, monitio.INFO, "read me in tab A"))
    for tab in (tab_a, tab_b):
        assert wait_toasts(tab, 1, timeout=30_000)[0]["id"] == message_id
        tab.wait_for_function(
            "() => document.querySelector('#badge').textContent === '1'"
        )
    clicked_at = tab_a.evaluate("() => Date.now()")
    tab_a.locator(f"[data-monitio-id='{message_id}']").get_by_role(
        "button", name="Mark as read"
    ).click()
    tab_b.wait_for_function(
        "() => !document.querySelector('[data-monitio-id]') && "
        "document.querySelector('#badge').textContent === '0'",
        timeout=10_000,
    )
    synced_at = tab_b.evaluate("() => Date.now()")
    assert Message.objects.get(pk=message_id).read
    print(
        f"R22 tab_sync_ms={synced_at - clicked_at} (mark read in A -> toast and badge "
        f"updated in B)"
    )


EVIL_PAGE = """<!DOCTYPE html><title>elsewhere</title><script>
window.__result = "pending";
var es = new EventSource("%s/sse/", {withCredentials: true});
es.onopen = function () { window.__result = "open"; };
es.onmessage = function () { window.__result = "message"; };
es.onerror = function () { if (es.readyState === 2) { window.__result = "closed"; } };
</script>"""


def test_cross_site_page_cannot_open_the_stream(open_page, site, alice):
    """S7: the alice is logged in (stream cookie set); a page on another site opens
    ``EventSource(..., {withCredentials: true})`` to the gateway."""
    import http.server
    import threading

    page = open_page()
    body = (EVIL_PAGE % site.url).encode()

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        evil = page.context.new_page()
        # "localhost" and "127.0.0.1" are different sites to the browser.
        evil.goto(f"http://localhost:{server.server_address[1]}/")
        evil.wait_for_function("() => window.__result !== 'pending'", timeout=10_000)
        result = evil.evaluate("() => window.__result")
    finally:
        server.shutdown()
    message(alice, "for the real page only")
    wait_toasts(page, 1)
    lines = [
        line
        for line in (site.dir / "access.log").read_text().splitlines()
        if "GET /sse/ " in line
    ]
    refused = [line for line in lines if '" 403 ' in line]
    cookie_sent = [line for line in refused if "stream_cookie=yes" in line]
    print(
        f"S7 cross_site_eventsource result={result} gateway_403={len(refused)} "
        f"cookie_sent={'yes' if cookie_sent else 'no'} origin_rejected="
        f"{site.gateway.metric('origin_rejected_total'):g}"
    )
    assert result == "closed" and refused and not cookie_sent
