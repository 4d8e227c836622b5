"""``monitio/header.html``: configuration as data, scripts by URL only (CSP-safe)."""

from __future__ import annotations

import json
import re

from django.template import Context, Template
from django.test import RequestFactory

from monitio import publish


def request_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def _render(request, **context) -> str:
    template = Template('{% include "monitio/header.html" %}')
    return template.render(
        Context({"request": request, "user": request.user, **context})
    )


def test_header_emits_json_config_and_no_inline_script(alice, redis_client):
    request = request_for(alice)
    html = _render(request)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
    inline = [
        body
        for attrs, body in scripts
        if "application/json" not in attrs and body.strip()
    ]
    assert inline == []
    assert all(
        "src=" in attrs for attrs, _ in scripts if "application/json" not in attrs
    )
    config = json.loads(
        re.search(r'id="monitio-config"[^>]*>(.*?)</script>', html, re.DOTALL)[1]
    )
    assert config["streamTokenUrl"] == "/messages/stream/"
    assert config["lastEventId"] == publish.current_event_id(request.user.pk)
    assert "00000000-0000-0000-0000-000000000000" in config["markReadUrl"]
    assert config["csrfHeaderName"] == "X-CSRFTOKEN" and config["theme"] == "default"
    assert "monitio/themes/default.css" in html and "monitio/monitio.js" in html


def test_header_theme_and_css_options(alice, redis_client):
    request = request_for(alice)
    html = _render(request, monitio_theme="bootstrap5")
    assert "monitio/themes/bootstrap5.css" in html
    assert '"theme": "bootstrap5"' in html
    assert "stylesheet" not in _render(request, monitio_css=False)


def test_header_renders_without_redis(alice, settings):
    request = request_for(alice)
    settings.MONITIO = {**settings.MONITIO, "REDIS_URL": "redis://127.0.0.1:1/0"}
    publish.reset_client()
    try:
        config = re.search(
            r'id="monitio-config"[^>]*>(.*?)</script>', _render(request), re.DOTALL
        )[1]
        assert json.loads(config)["lastEventId"] == ""
    finally:
        publish.reset_client()


def test_message_text_in_config_cannot_break_out(alice, redis_client):
    request = request_for(alice)
    html = _render(request, monitio_theme="</script><script>alert(1)</script>")
    assert "<script>alert(1)" not in html
