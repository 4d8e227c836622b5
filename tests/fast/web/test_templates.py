"""Bundled templates (escaping, SafeData, overriding), template tags and filters."""

from __future__ import annotations

import re
from pathlib import Path

from django.contrib import messages as django_messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.middleware import SessionMiddleware
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils.html import escape
from django.utils.safestring import mark_safe

from monitio import WARNING
from monitio.models import Message
from monitio.storage import PersistentMessageStorage

from .helpers import url

OVERRIDES = Path(__file__).resolve().parents[2] / "templates" / "web_override"

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "</li></ul><script>alert(document.cookie)</script>",
    '<a href="javascript:alert(1)">click</a>',
    "'';!--\"<XSS>=&{()}",
    '<iframe srcdoc="<script>alert(1)</script>">',
    "<body onload=alert(1)>",
    "{{ request.user.password }}{% debug %}",
]

SAFE_HTML = '<b class="x">bold</b> and <a href="/somewhere/">a link</a>'


def _request(user, path="/page/"):
    request = RequestFactory().get(path)
    request.user = user
    SessionMiddleware(lambda r: None).process_request(request)
    request._messages = PersistentMessageStorage(request)
    return request


def _assert_escaped(content: str, payload: str) -> None:
    # Present as text; a template-syntax payload shows literally, never evaluated.
    assert escape(payload) in content
    if escape(payload) != payload:
        assert payload not in content


def _pages(client, message):
    """Every bundled page that shows ``message``."""
    yield "inbox", client.get(url("inbox")).content.decode()
    yield "detail", client.get(url("message_detail", message.pk)).content.decode()


#: monitio/header.html's own script elements, which monitio/base.html includes.
_HEADER_SCRIPTS = re.compile(
    r'<script id="monitio-config" type="application/json">[^<]*</script>'
    r'|<script src="/(?:messages/jsi18n|static/monitio/monitio\.js)/?" defer></script>'
)


def _escaped(content: str, payload: str) -> bool:
    try:
        _assert_escaped(content, payload)
    except AssertionError:
        return False
    content = _HEADER_SCRIPTS.sub("", content)
    return "<script" not in content and "<img" not in content and "<svg" not in content


def test_xss_payloads_are_escaped_in_every_page(alice_client, alice, make_message):
    renders, unescaped = 0, []
    for payload in XSS:
        Message.objects.all().delete()
        message = make_message(alice, payload, subject=payload, extra_tags=payload)
        include = render_to_string(
            "monitio/includes/messages.html", request=_request(alice)
        )
        for page, content in [
            *_pages(alice_client, message),
            ("messages.html", include),
        ]:
            renders += 1
            if not _escaped(content, payload):
                unescaped.append((page, payload))
    print(
        f"XSS templates payloads={len(XSS)} renders={renders} "
        f"unescaped={len(unescaped)}"
    )
    assert renders == 3 * len(XSS) and unescaped == []


def test_one_time_django_messages_are_escaped_too(alice):
    request = _request(alice)
    for payload in XSS:
        django_messages.error(request, payload)
    content = render_to_string("monitio/includes/messages.html", request=request)
    for payload in XSS:
        _assert_escaped(content, payload)


def test_anonymous_users_messages_are_escaped(db):
    request = _request(AnonymousUser())
    django_messages.info(request, XSS[0])
    content = render_to_string("monitio/includes/messages.html", request=request)
    _assert_escaped(content, XSS[0])


def test_safedata_is_rendered_as_html(alice_client, alice, make_message):
    message = make_message(alice, SAFE_HTML, safe=True)
    for _, content in _pages(alice_client, message):
        assert SAFE_HTML in content
    include = render_to_string(
        "monitio/includes/messages.html", request=_request(alice)
    )
    assert SAFE_HTML in include


def test_safe_one_time_message_is_rendered_as_html(alice):
    request = _request(alice)
    django_messages.success(request, mark_safe(SAFE_HTML))
    assert SAFE_HTML in render_to_string(
        "monitio/includes/messages.html", request=request
    )


def test_javascript_url_is_never_a_link(alice_client, alice, make_message):
    message = make_message(alice, "see", url="javascript:alert(1)")
    content = alice_client.get(url("message_detail", message.pk)).content.decode()
    assert "javascript:" not in content
    message.url = "/orders/7/"
    message.save()
    content = alice_client.get(url("message_detail", message.pk)).content.decode()
    assert 'href="/orders/7/"' in content


def test_messages_include_shows_unread_persistent_and_one_time_messages(
    alice, make_message
):
    unread = make_message(alice, "stored unread", level=WARNING)
    make_message(alice, "stored read", level=WARNING, read=True)
    request = _request(alice)
    django_messages.info(request, "just once")
    content = render_to_string("monitio/includes/messages.html", request=request)
    assert "stored unread" in content and "just once" in content
    assert "stored read" not in content
    assert f'id="monitio-message-{unread.pk}"' in content
    assert f'action="{url("message_mark_read", unread.pk)}"' in content
    assert "warning" in content  # the level tag, for styling


def test_messages_include_renders_nothing_without_messages(alice):
    assert (
        render_to_string(
            "monitio/includes/messages.html", request=_request(alice)
        ).strip()
        == ""
    )


def test_site_can_override_the_base_template(
    alice_client, alice, make_message, settings
):
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [engine | {"DIRS": [str(OVERRIDES), *engine["DIRS"]]}]
    message = make_message(alice, "hello", subject="Greeting")
    for page in (url("inbox"), url("message_detail", message.pk)):
        content = alice_client.get(page).content.decode()
        assert '<div id="site-layout-marker">' in content and "hello" in content
    assert "<title>Greeting | Site</title>" in content


def test_strings_are_marked_for_translation(
    alice_client, alice, make_message, settings
):
    settings.LANGUAGE_CODE = "pl"
    message = make_message(alice, "hello")
    inbox = alice_client.get(url("inbox")).content.decode()
    detail = alice_client.get(url("message_detail", message.pk)).content.decode()
    assert "Oznacz wszystkie jako przeczytane" in inbox and "Mark all" not in inbox
    assert "Oznacz jako przeczytan" in detail and "Mark as read" not in detail


# -- {% mark_as_read_by_url %} -----------------------------------------------------

MARK = Template("{% load mark_as_read_by_url %}[{% mark_as_read_by_url %}]")


def test_mark_as_read_by_url_marks_the_full_path_only(alice, bob, make_message):
    exact = make_message(alice, url="/orders/7/?tab=1")
    other_path = make_message(alice, url="/orders/7/")
    no_url = make_message(alice)
    bobs = make_message(bob, url="/orders/7/?tab=1")
    request = _request(alice, "/orders/7/?tab=1")
    assert MARK.render(Context({"request": request})) == "[]"
    state = dict(Message.objects.values_list("pk", "read"))
    assert state == {
        exact.pk: True,
        other_path.pk: False,
        no_url.pk: False,
        bobs.pk: False,
    }


def test_mark_as_read_by_url_is_quiet_without_a_user(
    alice, make_message, django_assert_num_queries
):
    message = make_message(alice, url="/page/")
    with django_assert_num_queries(0):
        assert (
            MARK.render(Context({"request": _request(AnonymousUser(), "/page/")}))
            == "[]"
        )
        assert MARK.render(Context({})) == "[]"
    message.refresh_from_db()
    assert message.read is False


# -- message_filters ---------------------------------------------------------------


def _render_filter(expression, value):
    template = Template(
        "{% load message_filters %}{% for m in value|"
        + expression
        + " %}{{ m.message }},{% endfor %}"
    )
    return template.render(Context({"value": value})).rstrip(",").split(",")


def _mix(alice, make_message):
    # Oldest to newest: r0 u1 r2 r3 u4 r5
    for i, read in enumerate([True, False, True, True, False, True]):
        make_message(alice, f"{'r' if read else 'u'}{i}", read=read)
    return Message.objects.filter(user=alice)


def test_latest_filter(alice, make_message):
    rows = _mix(alice, make_message)
    assert _render_filter("latest:3", rows) == ["r5", "u4", "r3"]
    assert _render_filter("latest:3", list(rows.order_by("?"))) == ["r5", "u4", "r3"]


def test_latest_or_unread_filter_keeps_every_unread(alice, make_message):
    rows = _mix(alice, make_message)
    assert _render_filter("latest_or_unread:4", rows) == ["u4", "u1", "r5", "r3"]
    assert _render_filter("latest_or_unread:1", rows) == ["u4", "u1"]
    as_list = list(rows.order_by("?"))
    assert _render_filter("latest_or_unread:4", as_list) == ["u4", "u1", "r5", "r3"]
    assert _render_filter("latest_or_unread:1", as_list) == ["u4", "u1"]


def test_filters_work_on_the_storage_methods(alice, make_message):
    _mix(alice, make_message)
    request = _request(alice)
    template = Template(
        "{% load message_filters %}"
        "{% for m in messages.get_persistent|latest_or_unread:3 %}"
        "{{ m.message }},{% endfor %}"
    )
    content = template.render(Context({"messages": request._messages}))
    assert content.startswith("u4,u1,")
