"""The demo's look, measured in Chromium at desktop and phone (390 px) widths.

Each test asserts facts the DOM can measure (who sent a toast and when, where the
header's links end, which button is styled as destructive), not pixels. Screenshots
are saved to the directory ``MONITIO_UI_SCREENSHOTS`` (default: a temporary one; its
path is printed, run with ``-s``); docs/demo.png is a copy of ``desktop-home.png``.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from .harness import open_recorded, send, wait_toast

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
}
DELETE_ALL = "form[action$='/messages/delete/all/'] button"
MARK_ALL = "form[action$='/messages/mark_read/all/'] button"

#: A username that would run script if it were ever inserted as HTML.
EVIL_NAME = '<img src=x onerror="window.__xss++">'

#: What the page's own Intl.RelativeTimeFormat calls a time ``value`` ``unit``s ago.
RELATIVE = """([value, unit]) => new Intl.RelativeTimeFormat(
    document.documentElement.lang, {numeric: 'auto'}).format(-value, unit)"""

#: The elements whose right edge is past the viewport's (for a failure's message).
WIDE = """() => [...document.body.querySelectorAll('*')]
    .filter((e) => e.getBoundingClientRect().right > 390)
    .map((e) => e.tagName + '.' + e.className + ' ' + e.textContent.slice(0, 60))"""

#: Runs in ``manage.py shell``: ``SENDER`` sends ``BODY`` to bob (created if absent).
SEND_AS = """
from django.contrib.auth import get_user_model
import monitio
User = get_user_model()
sender, _ = User.objects.get_or_create(username=SENDER)
monitio.create_message(User.objects.get(username="bob"), monitio.INFO, BODY,
                       from_user=sender, subject="From a stranger")
"""

#: Runs in ``manage.py shell``: backdate the messages whose text contains ``MARKER``.
BACKDATE = """
from datetime import timedelta
from django.utils import timezone
from monitio.models import Message
Message.objects.filter(message__contains=MARKER).update(
    created=timezone.now() - timedelta(hours=3))
"""


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    chosen = os.environ.get("MONITIO_UI_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"UI screenshots={folder}")
    return folder


def shell(stack, code: str, **names: str) -> None:
    for name, value in names.items():
        code = code.replace(name, json.dumps(value))
    stack.manage("shell", "-c", code)


def outside(page, selector: str) -> list[str]:
    """The elements matching ``selector`` that stick out of the viewport sideways."""
    width = page.viewport_size["width"]
    found = []
    for element in page.locator(selector).all():
        box = element.bounding_box()
        if box and (box["x"] < 0 or box["x"] + box["width"] > width):
            found.append(f"{element.inner_text().strip()!r} {box}")
    return found


def inbox_row(page, stack, marker: str):
    """Bob's inbox row with ``marker``, once the worker has stored it."""
    for _ in range(100):
        page.goto(f"{stack.url}/messages/")
        row = page.locator("li.monitio-message", has_text=marker)
        if row.count():
            return row
        page.wait_for_timeout(200)
    raise AssertionError(f"{marker} never reached the inbox")


def test_live_toast_shows_sender_and_relative_time(stack, login, shots):
    bob = open_recorded(login, "bob", **DESKTOP)
    # Earlier tests' unread messages would fill the page above the toast.
    bob.goto(f"{stack.url}/messages/")
    with bob.expect_navigation():
        bob.click(MARK_ALL)
    bob.goto(f"{stack.url}/")
    alice = login("alice")
    marker = f"UI-{uuid.uuid4().hex[:8]}"
    send(alice, stack, to="bob", subject="Lunch?",
         body=f"Noon at the usual place? (ref {marker})")
    wait_toast(bob, marker)
    toast = bob.locator("[data-monitio-id]", has_text=marker)
    assert toast.locator(".monitio-sender").inner_text() == "alice"
    when = toast.locator("time")
    assert when.inner_text() == bob.evaluate(RELATIVE, [0, "second"])  # "now"
    created = bob.evaluate("t => Date.parse(t)", when.get_attribute("datetime"))
    assert abs(created - bob.evaluate("Date.now()")) < 120_000  # the message's own time
    bob.screenshot(path=shots / "desktop-home.png")


def test_sender_name_is_text_in_toasts_and_inbox(stack, login):
    bob = open_recorded(login, "bob", bypass_csp=True, **DESKTOP)
    marker = f"UI-evil-{uuid.uuid4().hex[:8]}"
    shell(stack, SEND_AS, SENDER=EVIL_NAME, BODY=marker)
    wait_toast(bob, marker)
    toast = bob.locator("[data-monitio-id]", has_text=marker)
    assert toast.locator(".monitio-sender").inner_text() == EVIL_NAME
    assert toast.locator("img").count() == 0
    bob.goto(f"{stack.url}/messages/")
    row = bob.locator("li.monitio-message", has_text=marker)
    assert row.locator(".monitio-sender").inner_text() == EVIL_NAME
    assert row.locator("img").count() == 0
    bob.wait_for_timeout(500)  # give an injected handler the chance to fire
    assert bob.evaluate("window.__xss") == 0


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_inbox_rows_show_sender_and_relative_time(stack, login, javascript):
    bob = login("bob", java_script_enabled=javascript, **DESKTOP)
    alice = login("alice")
    marker = f"UI-ago-{uuid.uuid4().hex[:8]}"
    send(alice, stack, to="bob", body=marker)
    inbox_row(bob, stack, marker)
    shell(stack, BACKDATE, MARKER=marker)
    row = inbox_row(bob, stack, marker)
    assert row.locator(".monitio-sender").inner_text() == "alice"
    when = row.locator("time")
    # Intl with JavaScript, Django's timesince (with a no-break space) without.
    assert when.inner_text().replace("\xa0", " ") == "3 hours ago"
    assert when.get_attribute("datetime")


def test_inbox_heading_count_and_destructive_button(stack, login, shots):
    bob = login("bob", **DESKTOP)
    bob.goto(f"{stack.url}/messages/")
    heading = bob.locator(".monitio-inbox h1")
    count = bob.locator(".monitio-inbox [data-monitio-unread]")
    assert heading.inner_text().strip() == "Messages"
    assert count.evaluate("e => e.closest('h1')") is None
    a, b = heading.bounding_box(), count.bounding_box()
    assert a["y"] + a["height"] <= b["y"] or b["x"] >= a["x"] + a["width"]  # apart

    danger, mark = bob.locator(DELETE_ALL), bob.locator(MARK_ALL)
    assert "monitio-danger" in danger.get_attribute("class").split()
    assert "monitio-danger" not in (mark.get_attribute("class") or "").split()
    look = "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    assert danger.evaluate(look) != mark.evaluate(look)
    bob.screenshot(path=shots / "desktop-inbox.png", full_page=True)


def _read_message(stack, login, page, marker: str):
    alice = login("alice")
    send(alice, stack, to="bob", body=marker)
    row = inbox_row(page, stack, marker)
    row.get_by_role("button", name="Mark as read").click()
    page.wait_for_load_state()
    return page.locator("li.monitio-message.monitio-read", has_text=marker)


def test_delete_all_asks_first_with_javascript(stack, login):
    bob = login("bob", **DESKTOP)
    marker = f"UI-confirm-{uuid.uuid4().hex[:8]}"
    row = _read_message(stack, login, bob, marker)
    assert row.count() == 1
    asked = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    bob.once("dialog", dismiss)
    bob.click(DELETE_ALL)
    bob.wait_for_timeout(300)
    assert asked and asked[0]
    assert row.count() == 1  # cancelled: nothing posted

    bob.once("dialog", lambda dialog: dialog.accept())
    with bob.expect_navigation():
        bob.click(DELETE_ALL)
    assert row.count() == 0


def test_delete_all_posts_without_javascript(stack, login):
    bob = login("bob", java_script_enabled=False, **DESKTOP)
    marker = f"UI-nojs-{uuid.uuid4().hex[:8]}"
    row = _read_message(stack, login, bob, marker)
    assert row.count() == 1
    with bob.expect_navigation():
        bob.click(DELETE_ALL)
    assert row.count() == 0


def test_send_form_has_no_default_recipient(stack, login):
    alice = login("alice", **DESKTOP)
    alice.goto(f"{stack.url}/send/")
    assert alice.input_value("select[name=recipient]") == ""
    alice.fill("textarea[name=body]", "to whom?")
    alice.click("#send-form button[type=submit]")
    alice.wait_for_load_state()
    assert "Message sent" not in alice.inner_text("main")
    assert alice.locator("select[name=recipient]:invalid, .errorlist").count() >= 1


@pytest.mark.parametrize("path", ["/", "/send/", "/messages/"])
def test_phone_header_fits_390px(stack, login, shots, path):
    bob = open_recorded(login, "bob", **PHONE)
    if path == "/":
        alice = login("alice")
        marker = f"UI-phone-{uuid.uuid4().hex[:8]}"
        send(alice, stack, to="bob", subject="Lunch?", body=f"Noon? ({marker})")
        wait_toast(bob, marker)
    else:
        bob.goto(stack.url + path)
    assert outside(bob, "header.site a, header.site button, header.site strong") == []
    logout = bob.get_by_role("button", name="Log out").bounding_box()
    assert 0 <= logout["x"] and logout["x"] + logout["width"] <= 390
    width = bob.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, bob.evaluate(WIDE)  # no sideways scrolling
    assert outside(bob, "#monitioMessages [data-monitio-id]") == []
    name = "home" if path == "/" else path.strip("/")
    bob.screenshot(path=shots / f"phone-{name}.png", full_page=True)
