"""The preferences admin: listed, filtered, and refusing a mandatory or unknown kind."""

from __future__ import annotations

from django.urls import reverse

from monitio.models import Preference


def test_preference_changelist_and_filters_load(admin_client, alice):
    Preference.objects.create(user=alice, kind="comment", channel="email", enabled=False)
    url = reverse("admin:monitio_preference_changelist")
    for query in ({}, {"q": "alice"}, {"kind": "comment"}, {"channel__exact": "email"}):
        response = admin_client.get(url, query)
        assert response.status_code == 200 and b"comment" in response.content


def test_the_admin_refuses_a_mandatory_kind(admin_client, alice):
    response = admin_client.post(
        reverse("admin:monitio_preference_add"),
        {"user": alice.pk, "kind": "security", "channel": "email", "enabled": ""},
    )
    assert response.status_code == 200 and b"mandatory" in response.content
    assert Preference.objects.count() == 0
    response = admin_client.post(
        reverse("admin:monitio_preference_add"),
        {"user": alice.pk, "kind": "comment", "channel": "email", "enabled": ""},
    )
    assert response.status_code == 302
    assert Preference.objects.get().enabled is False


def test_the_message_changelist_filters_by_kind(admin_client, alice):
    from monitio.models import Message

    Message.objects.create(user=alice, level=120, message="x", kind="comment")
    response = admin_client.get(reverse("admin:monitio_message_changelist"), {"kind": "comment"})
    assert response.status_code == 200
