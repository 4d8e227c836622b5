"""The preferences page and JSON endpoint: CSRF, escaping, and only one's own."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from monitio import preferences
from monitio.models import Preference

PAGE = "/messages/preferences/"
JSON = "/messages/json/preferences/"


def csrf_token(client: Client) -> str:
    client.get(PAGE)
    return client.cookies["csrftoken"].value


def enabled(user, kind, channel) -> bool:
    row = next(r for r in preferences.table(user) if r["kind"] == kind)
    return row["channels"][channel]["enabled"]


def test_the_page_shows_every_kind_escaped_with_mandatory_boxes_disabled(alice_client):
    response = alice_client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Comments &lt;b&gt;&amp;amp;&lt;/b&gt;" in html and "<b>" not in html
    assert "Someone &lt;i&gt;comments&lt;/i&gt;." in html
    assert 'name="email" value="security" aria-label="Security alerts: email" checked disabled' in html
    assert 'name="email" value="newsletter" aria-label="Newsletter: email">' in html
    assert 'name="email" value="default"' in html  # kind-less messages: switchable by e-mail


def test_posting_the_page_saves_what_is_ticked(csrf_client, alice, bob):
    token = csrf_token(csrf_client)
    # comment: in-app only; newsletter: both; the default kind: no e-mail
    response = csrf_client.post(
        PAGE, {"inbox": ["comment", "newsletter", "default"], "email": ["newsletter"],
               "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302 and response["Location"] == PAGE + "?saved=1"
    assert not enabled(alice, "comment", "email") and enabled(alice, "comment", "inbox")
    assert enabled(alice, "newsletter", "email") and not enabled(alice, "default", "email")
    assert enabled(alice, "security", "email")  # mandatory: not on the form, still on
    assert not Preference.objects.filter(user=bob).exists()
    assert "Your preferences are saved." in csrf_client.get(PAGE + "?saved=1").content.decode()


def test_posting_the_page_without_csrf_is_refused(csrf_client, alice):
    response = csrf_client.post(PAGE, {"inbox": []})
    assert response.status_code == 403
    assert Preference.objects.count() == 0


def test_anonymous_users_are_sent_to_log_in_or_get_401(client, alice):
    assert client.get(PAGE).status_code == 302
    assert client.post(PAGE, {"inbox": []}).status_code == 302
    response = client.get(JSON, HTTP_ACCEPT="application/json")
    assert response.status_code == 401 and response.json()["ok"] is False
    response = client.post(JSON, "{}", content_type="application/json", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert Preference.objects.count() == 0


def test_json_get_lists_the_users_preferences(alice_client, alice):
    preferences.change(alice, {("comment", "email"): False})
    kinds = {row["kind"]: row for row in alice_client.get(JSON).json()["kinds"]}
    assert kinds["comment"]["label"] == "Comments <b>&amp;</b>"  # JSON: the text itself
    assert kinds["comment"]["channels"]["email"] == {"enabled": False, "default": True, "mandatory": False}
    assert kinds["security"]["channels"]["email"]["mandatory"] is True


def post_json(client, body, token=None):
    headers = {"HTTP_X_CSRFTOKEN": token} if token else {}
    return client.post(JSON, json.dumps(body), content_type="application/json",
                       HTTP_ACCEPT="application/json", **headers)


def test_json_post_changes_the_users_preferences_with_csrf(csrf_client, alice, bob):
    body = {"preferences": [{"kind": "comment", "channel": "email", "enabled": False}]}
    assert post_json(csrf_client, body).status_code == 403  # no CSRF token
    assert enabled(alice, "comment", "email")
    response = post_json(csrf_client, body, csrf_token(csrf_client))
    assert response.status_code == 200 and response.json()["ok"] is True
    assert not enabled(alice, "comment", "email") and enabled(bob, "comment", "email")


def test_another_users_preferences_can_be_neither_read_nor_changed(alice_client, alice, bob):
    preferences.change(bob, {("comment", "email"): False})
    # there is no user parameter: whatever is sent, alice reads and writes her own
    seen = alice_client.get(JSON + f"?user={bob.pk}").json()["kinds"]
    assert next(r for r in seen if r["kind"] == "comment")["channels"]["email"]["enabled"] is True
    body = {"user": bob.pk, "preferences": [
        {"kind": "newsletter", "channel": "email", "enabled": True, "user": bob.pk}]}
    assert post_json(alice_client, body).status_code == 200
    assert not enabled(bob, "newsletter", "email") and enabled(alice, "newsletter", "email")
    assert not enabled(bob, "comment", "email")
    assert set(Preference.objects.filter(user=bob).values_list("kind", "enabled")) == {("comment", False)}


@pytest.mark.parametrize(
    "body, status",
    [
        ("not json", 400),
        ([], 400),
        ({"preferences": {"kind": "comment"}}, 400),
        ({"preferences": [{"kind": "comment", "channel": "email"}]}, 400),
        ({"preferences": [{"kind": ["comment"], "channel": "email", "enabled": False}]}, 400),
        ({"preferences": [{"kind": "nope", "channel": "email", "enabled": False}]}, 400),
        ({"preferences": [{"kind": "comment", "channel": "sms", "enabled": False}]}, 400),
        ({"preferences": [{"kind": "comment", "channel": "email", "enabled": "no"}]}, 400),
        ({"preferences": [{"kind": "comment", "channel": "email", "enabled": False},
                          {"kind": "security", "channel": "email", "enabled": False}]}, 403),
    ],
)
def test_json_post_refuses_bad_input_and_changes_nothing(alice_client, alice, body, status):
    data = body if isinstance(body, str) else json.dumps(body)
    response = alice_client.post(JSON, data, content_type="application/json", HTTP_ACCEPT="application/json")
    assert response.status_code == status and response.json()["ok"] is False
    assert Preference.objects.count() == 0


def test_other_methods_are_refused(alice_client):
    assert alice_client.put(PAGE).status_code == 405
    assert alice_client.delete(JSON).status_code == 405
