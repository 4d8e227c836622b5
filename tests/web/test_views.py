"""Every view of monitio.urls: who may use it, what it changes, what it answers."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from monitio import constants
from monitio.models import Message

from .helpers import JSON, POST_VIEWS, body, csrf_token, snapshot, url

GET_VIEWS = ["inbox", "message_detail", "message_json", "message_unread_count"]


def test_url_names_and_paths_match_the_contract():
    some = "0d1f2a3b-0000-4000-8000-000000000001"
    assert reverse("monitio:inbox") == "/messages/"
    assert reverse("monitio:message_detail", args=[some]) == f"/messages/{some}/"
    assert (
        reverse("monitio:message_mark_read", args=[some])
        == f"/messages/mark_read/{some}/"
    )
    assert (
        reverse("monitio:message_mark_unread", args=[some])
        == f"/messages/mark_unread/{some}/"
    )
    assert reverse("monitio:message_mark_all_read") == "/messages/mark_read/all/"
    assert (
        reverse("monitio:message_delete", args=[some])
        == f"/messages/delete/message/{some}/"
    )
    assert reverse("monitio:message_delete_all") == "/messages/delete/all/"
    assert reverse("monitio:message_json") == "/messages/json/"
    assert reverse("monitio:message_unread_count") == "/messages/json/unread/"
    assert reverse("monitio:persistent-messages-sse") == "/messages/stream/"
    assert reverse("monitio:js_i18n") == "/messages/jsi18n/"


def _any_url(name, message):
    return url(name, message.pk) if name == "message_detail" else url(name)


@pytest.mark.parametrize("name", GET_VIEWS)
def test_anonymous_browser_is_sent_to_login(client, alice, make_message, name):
    message = make_message(alice)
    response = client.get(_any_url(name, message))
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/accounts/login/"
    assert "next=" in location.query


@pytest.mark.parametrize("name", GET_VIEWS)
def test_anonymous_json_client_gets_401(client, alice, make_message, name):
    message = make_message(alice)
    response = client.get(_any_url(name, message), **JSON)
    assert response.status_code == 401
    assert body(response) == {"ok": False, "error": "login required"}


@pytest.mark.parametrize("name,takes_id", POST_VIEWS)
def test_anonymous_post_is_refused_and_changes_nothing(
    client, alice, make_message, name, takes_id
):
    message = make_message(alice, read=name == "message_mark_unread")
    before = snapshot()
    target = url(name, message.pk if takes_id else None)
    response = client.post(target)
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/accounts/login/"
    # After logging in, the user lands on a page, not on a POST-only URL.
    assert (
        "mark_read" not in response["Location"] and "delete" not in response["Location"]
    )
    assert client.post(target, **JSON).status_code == 401
    assert snapshot() == before


@pytest.mark.parametrize("name,takes_id", POST_VIEWS)
def test_get_on_a_state_change_is_405(
    alice_client, alice, make_message, name, takes_id
):
    message = make_message(alice, read=name == "message_mark_unread")
    before = snapshot()
    response = alice_client.get(url(name, message.pk if takes_id else None))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert snapshot() == before


@pytest.mark.parametrize("name", ["inbox", "message_detail", "message_json"])
def test_post_on_a_read_only_view_is_405(alice_client, alice, make_message, name):
    message = make_message(alice)
    assert alice_client.post(_any_url(name, message)).status_code == 405


def test_inbox_lists_only_own_unexpired_persistent_messages(
    alice_client, alice, bob, make_message
):
    mine = make_message(alice, "mine")
    make_message(bob, "bobs secret")
    make_message(alice, "long gone", expires=timezone.now() - timedelta(seconds=1))
    make_message(alice, "one-time", level=constants.DEBUG)
    response = alice_client.get(url("inbox"))
    assert response.status_code == 200
    assert list(response.context["page_obj"].object_list) == [mine]
    content = response.content.decode()
    assert (
        "mine" in content
        and "bobs secret" not in content
        and "long gone" not in content
    )
    assert response.context["unread_count"] == 1


def test_inbox_paginates_newest_first(alice_client, alice, make_message):
    made = [make_message(alice, f"number {i}") for i in range(30)]
    first = alice_client.get(url("inbox"))
    second = alice_client.get(url("inbox"), {"page": 2})
    assert list(first.context["page_obj"].object_list) == made[::-1][:25]
    assert list(second.context["page_obj"].object_list) == made[::-1][25:]
    assert 'rel="next"' in first.content.decode()
    # An out-of-range or junk page number shows a real page instead of failing.
    assert alice_client.get(url("inbox"), {"page": "junk"}).status_code == 200
    assert alice_client.get(url("inbox"), {"page": 99}).context["page_obj"].number == 2


def test_inbox_unread_filter(alice_client, alice, make_message):
    unread = make_message(alice, "unread")
    make_message(alice, "read", read=True)
    response = alice_client.get(url("inbox"), {"unread": "1"})
    assert list(response.context["page_obj"].object_list) == [unread]


def test_detail_shows_the_message_without_marking_it_read(
    alice_client, alice, make_message
):
    message = make_message(alice, "the body", subject="The subject")
    response = alice_client.get(url("message_detail", message.pk))
    assert response.status_code == 200
    content = response.content.decode()
    assert "the body" in content and "The subject" in content
    assert f'action="{url("message_mark_read", message.pk)}"' in content
    assert 'name="csrfmiddlewaretoken"' in content
    message.refresh_from_db()
    assert message.read is False


def test_detail_of_a_read_message_offers_mark_unread(alice_client, alice, make_message):
    message = make_message(alice, read=True)
    content = alice_client.get(url("message_detail", message.pk)).content.decode()
    assert f'action="{url("message_mark_unread", message.pk)}"' in content


@pytest.mark.parametrize(
    "name",
    ["message_detail", "message_mark_read", "message_mark_unread", "message_delete"],
)
def test_another_users_or_expired_or_unknown_id_is_404(
    alice_client, alice, bob, make_message, name
):
    foreign = make_message(bob)
    expired = make_message(alice, expires=timezone.now() - timedelta(seconds=1))
    unknown = "6a0b6d8e-8f5f-4c1e-9d51-2d5f2b8f0a11"
    before = snapshot()
    send = alice_client.get if name == "message_detail" else alice_client.post
    for message_id in (foreign.pk, expired.pk, unknown):
        assert send(url(name, message_id)).status_code == 404
        response = send(url(name, message_id), **JSON)
        assert response.status_code == 404
        assert body(response) == {"ok": False, "error": "not found"}
    assert snapshot() == before


def test_mark_read_and_unread(alice_client, alice, make_message):
    message = make_message(alice)
    response = alice_client.post(url("message_mark_read", message.pk), **JSON)
    assert (response.status_code, body(response)) == (200, {"ok": True, "unread": 0})
    message.refresh_from_db()
    assert message.read is True and message.read_at is not None
    # Marking it again is harmless.
    assert (
        body(alice_client.post(url("message_mark_read", message.pk), **JSON))["ok"]
        is True
    )
    response = alice_client.post(url("message_mark_unread", message.pk), **JSON)
    assert body(response) == {"ok": True, "unread": 1}
    message.refresh_from_db()
    assert message.read is False and message.read_at is None


def test_mark_all_read_touches_only_own_messages(
    alice_client, alice, bob, make_message
):
    mine = [make_message(alice) for _ in range(3)]
    theirs = make_message(bob)
    response = alice_client.post(
        url("message_mark_all_read"), HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    )
    assert body(response) == {"ok": True, "unread": 0}
    assert all(Message.objects.get(pk=m.pk).read for m in mine)
    assert Message.objects.get(pk=theirs.pk).read is False


def test_delete_one(alice_client, alice, make_message):
    message, other = make_message(alice), make_message(alice)
    response = alice_client.post(url("message_delete", message.pk), **JSON)
    assert body(response) == {"ok": True, "unread": 1}
    assert list(Message.objects.all()) == [other]


def test_delete_all_removes_only_own_read_messages(
    alice_client, alice, bob, make_message
):
    read = make_message(alice, read=True)
    unread = make_message(alice)
    bobs_read = make_message(bob, read=True)
    response = alice_client.post(url("message_delete_all"), **JSON)
    assert body(response) == {"ok": True, "unread": 1}
    remaining = set(Message.objects.values_list("pk", flat=True))
    assert remaining == {unread.pk, bobs_read.pk} and read.pk not in remaining


def test_browser_post_redirects_back_to_next(alice_client, alice, make_message):
    message = make_message(alice)
    response = alice_client.post(
        url("message_mark_read", message.pk), {"next": "/somewhere/?a=1"}
    )
    assert (response.status_code, response["Location"]) == (302, "/somewhere/?a=1")


def test_browser_post_redirects_back_to_referer(alice_client, alice, make_message):
    message = make_message(alice)
    response = alice_client.post(
        url("message_mark_read", message.pk), HTTP_REFERER="http://testserver/page/"
    )
    assert response["Location"] == "http://testserver/page/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "http:\\\\evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        " https://evil.example",
        "http://testserver.evil.example/",
    ],
)
def test_no_open_redirect_via_next_or_referer(
    alice_client, alice, make_message, target
):
    message = make_message(alice)
    by_next = alice_client.post(url("message_mark_read", message.pk), {"next": target})
    by_referer = alice_client.post(
        url("message_mark_unread", message.pk), HTTP_REFERER=target
    )
    assert by_next["Location"] == reverse("monitio:inbox")
    assert by_referer["Location"] == reverse("monitio:inbox")


def test_https_page_does_not_redirect_to_plain_http(alice_client, alice, make_message):
    message = make_message(alice)
    response = alice_client.post(
        url("message_mark_read", message.pk),
        {"next": "http://testserver/page/"},
        secure=True,
    )
    assert response["Location"] == reverse("monitio:inbox")


def test_unread_count(alice_client, alice, bob, make_message):
    make_message(alice)
    make_message(alice)
    make_message(alice, read=True)
    make_message(alice, expires=timezone.now() - timedelta(seconds=1))
    make_message(alice, level=constants.DEBUG)
    make_message(bob)
    response = alice_client.get(url("message_unread_count"))
    assert response["Content-Type"] == "application/json"
    assert body(response) == {"unread": 2}


def test_jsi18n_serves_the_javascript_catalog(client):
    response = client.get(url("js_i18n"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"django.gettext" in response.content or b"gettext" in response.content


ORIGINAL_SNIPPETS = [
    '{% url "monitio:persistent-messages-sse" user.username %}',
    '{% url "monitio:persistent-messages-sse" channel=user.username %}',
]


@pytest.mark.parametrize("snippet", ORIGINAL_SNIPPETS)
def test_the_originals_stream_url_snippet_still_renders(rf, alice, snippet):
    """The original's page passed the user's name; it reverses to the token view."""
    from django.contrib.auth.models import AnonymousUser
    from django.template import engines

    page = engines["django"].from_string(snippet)
    assert page.render({"user": alice}) == "/messages/stream/alice"
    assert page.render({"user": AnonymousUser()}) == "/messages/stream/"


def test_the_name_in_the_originals_stream_url_chooses_nothing(csrf_client, alice, bob):
    """Bob's browser, given a page that names alice, gets a credential for bob only."""
    from monitio import wire
    from monitio.conf import settings as monitio_settings

    csrf_client.force_login(bob)
    target = reverse("monitio:persistent-messages-sse", args=[alice.username])
    assert target == "/messages/stream/alice"
    token = csrf_token(csrf_client)
    assert csrf_client.get(target).status_code == 405
    assert csrf_client.post(target).status_code == 403  # no CSRF token
    granted = csrf_client.post(target, {"csrfmiddlewaretoken": token}, **JSON)
    assert granted.status_code == 200
    assert body(granted)["url"] == monitio_settings.STREAM_URL
    cookie = granted.cookies[monitio_settings.STREAM_COOKIE_NAME].value
    claims = wire.verify_token(
        cookie,
        secret=monitio_settings.STREAM_SECRET,
        max_age=monitio_settings.STREAM_TOKEN_MAX_AGE,
    )
    assert claims.user_id == str(bob.pk) != str(alice.pk)
