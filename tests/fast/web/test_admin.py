"""The admin pages for messages and the outbox load, filter, search and act."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from monitio.models import Message, PendingTask

CHANGELIST = "admin:monitio_message_changelist"


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"q": "invoice"},
        {"q": "alice"},
        {"read__exact": "1"},
        {"level__exact": "130"},
        {"email_status__exact": "failed"},
        {"created__year": str(timezone.now().year)},
        {"expires__isnull": "True"},
    ],
)
def test_message_changelist_loads_with_filters_and_search(
    admin_client, alice, make_message, query
):
    make_message(alice, "your invoice", subject="Invoice")
    response = admin_client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200


def test_search_finds_by_text_and_by_recipient(admin_client, alice, bob, make_message):
    invoice = make_message(alice, "your invoice")
    other = make_message(bob, "something else")
    by_text = admin_client.get(reverse(CHANGELIST), {"q": "invoice"})
    by_user = admin_client.get(reverse(CHANGELIST), {"q": "bob"})
    assert list(by_text.context["cl"].result_list) == [invoice]
    assert list(by_user.context["cl"].result_list) == [other]


def test_change_page_shows_email_status_read_only(admin_client, alice, make_message):
    message = make_message(alice, email=True, email_status="failed", email_error="boom")
    response = admin_client.get(
        reverse("admin:monitio_message_change", args=[message.pk])
    )
    assert response.status_code == 200
    form_fields = response.context["adminform"].form.fields
    for name in ("email_status", "email_sent_at", "email_error"):
        assert name not in form_fields
    assert "boom" in response.content.decode()


@pytest.mark.parametrize(
    "action,start,end", [("mark_read", False, True), ("mark_unread", True, False)]
)
def test_actions_change_read_state(
    admin_client, alice, bob, make_message, action, start, end
):
    chosen = [make_message(alice, read=start), make_message(bob, read=start)]
    spared = make_message(alice, read=start)
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [str(m.pk) for m in chosen]},
        follow=True,
    )
    assert response.status_code == 200
    assert "2 messages changed." in response.content.decode()
    assert [Message.objects.get(pk=m.pk).read for m in chosen] == [end, end]
    assert Message.objects.get(pk=spared.pk).read is start


def test_outbox_is_listed_read_only(admin_client):
    task = PendingTask.objects.create(task="monitio_tasks.deliver", args=[[]])
    assert (
        admin_client.get(reverse("admin:monitio_pendingtask_changelist")).status_code
        == 200
    )
    assert (
        admin_client.get(reverse("admin:monitio_pendingtask_add")).status_code == 403
    )
    # Viewing one is allowed; changing or deleting it is not.
    change = reverse("admin:monitio_pendingtask_change", args=[task.pk])
    assert admin_client.get(change).status_code == 200
    assert (
        admin_client.post(
            change, {"task": "x", "args": "[]", "attempts": 0}
        ).status_code
        == 403
    )
    assert (
        admin_client.post(
            reverse("admin:monitio_pendingtask_delete", args=[task.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert PendingTask.objects.get().task == "monitio_tasks.deliver"


def test_admin_needs_staff(alice_client):
    response = alice_client.get(reverse(CHANGELIST))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
