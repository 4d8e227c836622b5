"""E-mail policies, time zone and quiet hours on the preferences page and JSON
endpoint: CSRF, escaped labels, clear 400s for what does not exist, all or nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from monitio import email_settings, preferences
from monitio.models import EmailChoice, EmailSettings, Preference

PAGE = "/messages/preferences/"
JSON = "/messages/json/preferences/"


def token(client: Client) -> str:
    client.get(PAGE)
    return client.cookies["csrftoken"].value


def post_json(client: Client, body, csrf: str | None) -> object:
    headers = {"HTTP_X_CSRFTOKEN": csrf} if csrf else {}
    return client.post(JSON, json.dumps(body), content_type="application/json",
                       HTTP_ACCEPT="application/json", **headers)


def test_json_sets_policies_and_settings_with_csrf(csrf_client, alice, bob):
    body = {"email_policies": {"reply": "digest_weekly:4:18", "roundup": "off"},
            "email_settings": {"time_zone": "Europe/Warsaw", "quiet_start": 22, "quiet_end": 7}}
    assert post_json(csrf_client, body, None).status_code == 403
    assert not EmailChoice.objects.exists()
    response = post_json(csrf_client, body, token(csrf_client))
    assert response.status_code == 200, response.content
    email = response.json()["email"]
    assert email["policies"]["reply"]["policy"] == "digest_weekly:4:18"
    assert email["policies"]["roundup"]["policy"] == "off"
    assert (email["time_zone"], email["quiet_start"], email["quiet_end"]) == ("Europe/Warsaw", 22, 7)
    assert not EmailChoice.objects.filter(user=bob).exists()
    assert csrf_client.get(JSON).json()["email"] == email


@pytest.mark.parametrize("body", [
    {"email_policies": {"reply": "digest_monthly"}},
    {"email_policies": {"reply": "digest_daily:25"}},
    {"email_policies": {"nope": "immediate"}},
    {"email_policies": {"alert": "off"}},
    {"email_settings": {"time_zone": "Europe/Atlantis"}},
    {"email_settings": {"quiet_start": 22}},
    {"email_settings": {"quiet_start": "22", "quiet_end": 7}},
])
def test_json_refuses_what_does_not_exist_and_changes_nothing(csrf_client, alice, body):
    body = {**body, "preferences": [{"kind": "reply", "channel": "inbox", "enabled": False}]}
    response = post_json(csrf_client, body, token(csrf_client))
    assert response.status_code == 400 and response.json()["ok"] is False
    assert response.json()["error"]
    assert not (Preference.objects.exists() or EmailChoice.objects.exists() or EmailSettings.objects.exists())


def test_json_refuses_unknown_settings_keys(csrf_client, alice):
    response = post_json(csrf_client, {"email_settings": {"tz": "UTC"}}, token(csrf_client))
    assert response.status_code == 400


def test_page_shows_escaped_policies_and_saves_them(csrf_client, alice):
    html = csrf_client.get(PAGE).content.decode()
    assert "Replies &lt;b&gt;: when to e-mail" in html and "Replies <b>" not in html
    assert '<select name="policy-roundup"' in html
    alert = html.split('name="policy-alert"')[1].split("</select>")[0]  # mandatory: no digests, no off
    assert 'value="unread_after" selected' in alert and "digest" not in alert and "off" not in alert
    form = {"csrfmiddlewaretoken": token(csrf_client), "inbox": ["reply", "roundup", "default"],
            "email": ["reply", "default"], "policy-reply": "digest_daily", "hour-reply": "7",
            "policy-roundup": "immediate", "policy-alert": "unread_after", "minutes-alert": "15",
            "time_zone": "America/New_York", "quiet_start": "23", "quiet_end": "6"}
    response = csrf_client.post(PAGE, form)
    assert response.status_code == 302, response.content.decode()[-500:]
    assert str(email_settings.policy_of(alice, "reply")) == "digest_daily:7"
    assert str(email_settings.policy_of(alice, "roundup")) == "off"  # its box is unticked
    assert str(email_settings.policy_of(alice, "alert")) == "unread_after:15"
    row = EmailSettings.objects.get(user=alice)
    assert (row.time_zone, row.quiet_start, row.quiet_end) == ("America/New_York", 23, 6)
    assert 'value="America/New_York"' in csrf_client.get(PAGE).content.decode()


def test_page_refuses_a_bad_time_zone_with_an_escaped_error(csrf_client, alice):
    form = {"csrfmiddlewaretoken": token(csrf_client), "email": ["reply"], "policy-reply": "digest_hourly",
            "time_zone": "<script>x</script>", "quiet_start": "", "quiet_end": ""}
    response = csrf_client.post(PAGE, form)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Unknown time zone" in html and "<script>x" not in html
    assert not (Preference.objects.exists() or EmailChoice.objects.exists() or EmailSettings.objects.exists())
    assert preferences.allows(alice.pk, "reply", "inbox")


def test_page_post_without_csrf_is_refused(csrf_client, alice):
    response = csrf_client.post(PAGE, {"policy-reply": "digest_hourly", "email": ["reply"]})
    assert response.status_code == 403 and not EmailChoice.objects.exists()


def test_the_admin_refuses_unknown_time_zones_and_policies(admin_client, alice):
    from django.urls import reverse

    response = admin_client.post(reverse("admin:monitio_emailsettings_add"),
                                 {"user": alice.pk, "time_zone": "Mars/Base", "quiet_start": "", "quiet_end": ""})
    assert response.status_code == 200 and b"Unknown time zone" in response.content
    response = admin_client.post(reverse("admin:monitio_emailchoice_add"),
                                 {"user": alice.pk, "kind": "reply", "policy": "digest_yearly"})
    assert response.status_code == 200 and b"Unknown e-mail policy" in response.content
    assert not (EmailSettings.objects.exists() or EmailChoice.objects.exists())
    response = admin_client.post(reverse("admin:monitio_emailchoice_add"),
                                 {"user": alice.pk, "kind": "reply", "policy": "digest_daily:9"})
    assert response.status_code == 302 and EmailChoice.objects.get().policy == "digest_daily:9"
    for name in ("emailsettings", "emailchoice", "digestrun"):
        assert admin_client.get(reverse(f"admin:monitio_{name}_changelist")).status_code == 200
