"""S10: 112 XSS vectors (OWASP cheat sheets, :mod:`.attacks`) sent with
``monitio.add_message``, rendered by Django's templates and inserted live by
``monitio.js`` in headless Chromium, under the example site's strict CSP.

The example project's three Procfile processes and Chromium run through the e2e
suite's building blocks (:mod:`tests.process.browser.harness`), scoped to this one test: the
example's Celery worker shares the test broker, so it must be gone before any later
test enqueues tasks, and a live Playwright loop would stop Django's database calls.
(Higher scopes also let pytest reorder the whole session around them.) alice's messages to bob are sent with ``add_message`` from
``manage.py shell``, the way a view calls it.

Bob watches two pages: one with the CSP bypassed (so an injected handler would
really run and be counted in ``window.__xss``) and one with the CSP enforced (which
must report no violation at all). Then his inbox pages and every message's detail
page are loaded. A SafeData message (``mark_safe``) is the control: it, and only
it, must arrive as HTML, as in Django's ``test_safedata``.

Printed::

    S10 payloads=112 live_executed=0 live_literal=224/224 live_injected_elements=0
        server_executed=0 server_literal=…/… server_injected_elements=0
        csp_violations=0 safedata_as_html=yes
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.process.browser.harness import Stack, running_example

from .attacks import PAYLOADS

#: Records, before any page script runs: toasts at insertion (text, and each
#: descendant's tag and attribute names), script executions, CSP violations.
RECORDER = """
window.__xss = 0;
window.__toasts = [];
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
new MutationObserver((records) => {
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node.nodeType !== 1 || !node.closest('#monitioMessages')) continue;
      if (!node.hasAttribute('data-monitio-id')) continue;
      const text = node.querySelector('.monitio-text, [class*=text]');
      window.__toasts.push({
        text: node.textContent,
        inside: text ? [...text.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()) : [],
        handlers: [...node.querySelectorAll('*')].filter(
          (e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
      });
    }
  }
}).observe(document, {childList: true, subtree: true});
"""

#: Counts, on a server-rendered page: elements inside message text or subject (none
#: should exist but the SafeData control's) and any inline event handler at all.
SERVER_DOM = """() => {
  const inside = [...document.querySelectorAll(
      '.monitio-text *, .monitio-subject *, .monitio-body *')];
  const handlers = [...document.querySelectorAll('*')].filter(
      (e) => [...e.attributes].some((a) => a.name.startsWith('on')));
  return {inside: inside.map((e) => e.id || e.tagName.toLowerCase()),
          handlers: handlers.length, text: document.body.innerText};
}"""

SEND = """
import json
from django.contrib.auth import get_user_model
from django.contrib.messages.storage import default_storage
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.safestring import mark_safe
import monitio
User = get_user_model()
alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")
request = RequestFactory().get("/")
request.user, request.session = alice, SessionStore()
request._messages = default_storage(request)
run, payloads = json.load(open(PAYLOAD_FILE))
for i, payload in enumerate(payloads):
    monitio.add_message(request, monitio.INFO, f"S10-{run}-{i} {payload}", subject=payload,
                        user=bob, from_user=alice)
monitio.add_message(request, monitio.INFO, mark_safe(f'<b id="safe-{run}">S10-{run}-safe</b>'),
                    user=bob, from_user=alice)
request._messages.update(HttpResponse())  # what MessageMiddleware does with the response
"""


@pytest.fixture
def stack(tmp_path) -> Iterator[Stack]:
    """The example project's Procfile processes, as the e2e suite starts them."""
    (tmp_path / "example").mkdir()
    with running_example(tmp_path / "example") as stack:
        yield stack


def _bob_page(login, **context_options):
    page = login("bob", **context_options)
    page.context.add_init_script(RECORDER)
    page.reload()
    page.wait_for_function("document.querySelector('#monitioMessages')", timeout=10_000)
    return page


def _send(stack: Stack, run: str) -> None:
    data = stack.var_dir / f"payloads-{run}.json"
    data.write_text(json.dumps([run, PAYLOADS]))
    stack.manage("shell", "-c", SEND.replace("PAYLOAD_FILE", repr(str(data))))


def _normal(text: str) -> str:
    return " ".join(text.split())


def _server_pages(page, stack: Stack, run: str) -> tuple[int, int, int, int, bool]:
    """Load bob's inbox pages and every message's detail page; return executions,
    payloads shown literally, injected elements, handlers, and SafeData as HTML."""
    executed = literal = injected = handlers = 0
    safe_html = False
    seen_text, ids = "", []
    for number in range(1, 20):
        page.goto(f"{stack.url}/messages/?page={number}")
        dom = page.evaluate(SERVER_DOM)
        ids += page.evaluate(
            "() => [...document.querySelectorAll('li.monitio-message')].map((e) => e.id)"
        )
        seen_text += dom["text"]
        executed += page.evaluate("window.__xss")
        injected += sum(name != f"safe-{run}" for name in dom["inside"])
        safe_html |= f"safe-{run}" in dom["inside"]
        handlers += dom["handlers"]
        if f"?page={number + 1}" not in page.content():
            break
    literal += sum(_normal(p) in _normal(seen_text) for p in PAYLOADS)
    for element_id in ids:  # detail pages: the full text, not truncated
        page.goto(
            f"{stack.url}/messages/{element_id.removeprefix('monitio-message-')}/"
        )
        dom = page.evaluate(SERVER_DOM)
        executed += page.evaluate("window.__xss")
        injected += sum(name != f"safe-{run}" for name in dom["inside"])
        handlers += dom["handlers"]
    assert len(ids) == len(PAYLOADS) + 1
    return executed, literal, injected, handlers, safe_html


def test_xss_payloads_stay_text_live_and_server_rendered(stack, login):
    exposed = _bob_page(login, bypass_csp=True)
    strict = _bob_page(login)
    run = uuid.uuid4().hex[:6]
    _send(stack, run)
    total = len(PAYLOADS) + 1
    toasts = {}
    for name, page in (("exposed", exposed), ("strict", strict)):
        page.wait_for_function(
            "([run, n]) => window.__toasts.filter((t) => t.text.includes('S10-' + run)).length >= n",
            arg=[run, total],
            timeout=60_000,
            polling=100,
        )
        toasts[name] = page.evaluate("window.__toasts")
    exposed.wait_for_timeout(1000)  # give any handler that got in the time to fire
    live_executed = exposed.evaluate("window.__xss") + strict.evaluate("window.__xss")
    live_literal = live_injected = live_handlers = 0
    safe_live = 0
    for found in toasts.values():
        for i, payload in enumerate(PAYLOADS):
            toast = next(t for t in found if f"S10-{run}-{i} " in t["text"])
            live_literal += toast["text"].count(payload) >= 2  # subject and text
            live_injected += len(toast["inside"])
            live_handlers += toast["handlers"]
        safe = next(t for t in found if f"S10-{run}-safe" in t["text"])
        safe_live += safe["inside"] == ["b"]
    csp = strict.evaluate("window.__csp")

    server = _server_pages(exposed, stack, run)
    strict.goto(f"{stack.url}/messages/")
    csp += strict.evaluate("window.__csp")
    executed, literal, injected, handlers, safe_html = server
    print(
        f"\nS10 payloads={len(PAYLOADS)} live_executed={live_executed} "
        f"live_literal={live_literal}/{2 * len(PAYLOADS)} "
        f"live_injected_elements={live_injected} live_handlers={live_handlers} "
        f"server_executed={executed} server_literal={literal}/{len(PAYLOADS)} "
        f"server_injected_elements={injected} server_handlers={handlers} "
        f"csp_violations={len(csp)} safedata_as_html=live:{safe_live}/2,"
        f"server:{'yes' if safe_html else 'no'}"
    )
    assert live_executed == 0 and executed == 0
    assert live_literal == 2 * len(PAYLOADS) and literal == len(PAYLOADS)
    assert live_injected == 0 and injected == 0
    assert live_handlers == 0 and handlers == 0
    assert csp == []
    assert safe_live == 2 and safe_html, "the SafeData control must be HTML"
