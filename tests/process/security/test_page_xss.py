"""S10 in the demo's own pages: HTML in a message shows as text in live toasts, on the
next page load and in the inbox, and never runs; the pages are served under a strict
CSP that monitio's client works under. The example project runs for real
(``tests/process/browser/harness.py``), Bob watches in headless Chromium. Printed
(run with ``-s``)::

    S10 payloads=N executed=0 literal=N elements=0 csp_violations=0
"""

from __future__ import annotations

import uuid

from tests.process.browser.harness import open_recorded, send, wait_toast

#: OWASP-style vectors; each would bump ``window.__xss`` if it ever ran.
XSS_PAYLOADS = [
    '<img src=x onerror="window.__xss++">',
    "<script>window.__xss++</script>",
    "</script><script>window.__xss++</script>",
    '<svg onload="window.__xss++"><circle r=1></svg>',
    '"><img src=x onerror=window.__xss++>',
    "<a href=\"javascript:window.__xss++\">click</a>",
    '<iframe srcdoc="<script>parent.__xss++</script>"></iframe>',
    "<details open ontoggle=window.__xss++>",
    "<input autofocus onfocus=window.__xss++>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss++>",
    "<body onload=window.__xss++>",
    "{{ 7|add:7 }} {% csrf_token %} ${window.__xss++}",
]
INJECTION = '<img src=x onerror="window.__xss++">'

#: Elements that exist in a toast only if a payload was parsed as HTML.
INJECTED_TAGS = {
    "img", "script", "svg", "circle", "iframe", "details", "input", "math", "mtext",
    "table", "mglyph", "style", "body",
}


def test_html_payloads_show_as_text_and_never_run(stack, login):
    """S10: HTML in a message is shown literally, live and on the next page load.

    Bob's first page ignores the CSP (``bypass_csp``), so an injected handler would
    really run and be counted; his second page enforces it and must log no
    violation at all."""
    exposed = open_recorded(login, "bob", bypass_csp=True)
    strict = open_recorded(login, "bob")
    alice = login("alice")
    run = uuid.uuid4().hex[:6]
    for i, payload in enumerate(XSS_PAYLOADS):
        send(alice, stack, to="bob", subject=payload, body=f"S10-{run}-{i} {payload}")

    literal = elements = 0
    for page in (exposed, strict):
        for i, payload in enumerate(XSS_PAYLOADS):
            toast = wait_toast(page, f"S10-{run}-{i} ")
            literal += payload in toast["text"]
            elements += len(INJECTED_TAGS & set(toast["elements"]))
    # Give any event handler that did get in the chance to fire.
    exposed.wait_for_timeout(500)
    executed = exposed.evaluate("window.__xss")

    # The same messages rendered by Django on a fresh page load, and in the inbox.
    for page, path in ((exposed, "/"), (exposed, "/messages/")):
        page.goto(stack.url + path)
        text = page.inner_text("main")
        literal += all(payload in text for payload in XSS_PAYLOADS)
        executed += page.evaluate("window.__xss")
    strict.goto(f"{stack.url}/messages/")
    violations = strict.evaluate("window.__csp")

    print(
        f"S10 payloads={len(XSS_PAYLOADS)} executed={executed} "
        f"literal={literal}/{2 * len(XSS_PAYLOADS) + 2} elements={elements} "
        f"csp_violations={len(violations)}"
    )
    assert executed == 0
    assert literal == 2 * len(XSS_PAYLOADS) + 2
    assert elements == 0
    assert violations == []

    # Controls: the detectors do see an injection when there is one.
    for page in (exposed, strict):
        page.evaluate(f"document.body.insertAdjacentHTML('beforeend', {INJECTION!r})")
    exposed.wait_for_function("window.__xss === 1", timeout=5_000)
    strict.wait_for_function("window.__csp.length > 0", timeout=5_000)
    assert strict.evaluate("window.__xss") == 0


def test_page_is_served_under_a_strict_csp(stack, login):
    """The pages send ``script-src 'self'`` and monitio's client works under it."""
    page = open_recorded(login, "carol")
    response = page.goto(f"{stack.url}/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    alice = login("alice")
    marker = f"CSP-{uuid.uuid4().hex[:8]}"
    send(alice, stack, to="carol", body=marker)
    wait_toast(page, marker)
    assert page.evaluate("window.__csp") == []
