"""The preferences page in Chromium: untick a box, save (POST with the form's CSRF
token), and the choice is kept; mandatory boxes cannot be changed; labels are text."""

from __future__ import annotations

from django.test import Client

from monitio import preferences
from tests.fast.kinds.conftest import COMMENT, DIGESTIBLE, SECURITY  # noqa: F401 - the page's kinds


def test_preferences_page_saves_what_the_user_unticks(live_server, alice, chromium):
    client = Client()
    client.force_login(alice)
    session = client.cookies["sessionid"].value
    context = chromium.new_context()
    context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/messages/preferences/")
    comment_email = page.locator('input[name="email"][value="comment"]')
    security_email = page.locator('input[name="email"][value="security"]')
    assert comment_email.is_checked() and security_email.is_checked()
    assert security_email.is_disabled() and not comment_email.is_disabled()
    label = page.locator("#monitio-kind-comment th").inner_text()
    comment_email.uncheck()
    page.locator('input[name="email"][value="newsletter"]').check()
    page.click("button[type=submit]")
    page.wait_for_url("**/messages/preferences/?saved=1")
    saved = page.locator(".monitio-saved").is_visible()
    after = {
        kind: page.locator(f'input[name="email"][value="{kind}"]').is_checked()
        for kind in ("comment", "newsletter", "security", "default")
    }
    assert label.startswith("Comments <b>&amp;</b>")  # shown as text, not markup
    assert saved and after == {"comment": False, "newsletter": True, "security": True, "default": True}
    assert not preferences.allows(alice.pk, "comment", "email")
    assert preferences.allows(alice.pk, "newsletter", "email")
