"""The admin sends messages through the pipeline, and its edits and deletions reach
the recipients' open pages: events read back from the real Redis, a real worker
for the messages the action queues."""

from __future__ import annotations

import json
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from monitio import INFO, WARNING, wire
from monitio.conf import settings as monitio_settings
from monitio.models import Message

USERS = "admin:auth_user_changelist"


def _events(redis_client, user, count: int = 0, deadline: float = 30.0) -> list[tuple[str, dict]]:
    """``user``'s events in Redis, waiting up to ``deadline`` for ``count`` of them."""
    key = wire.user_stream_key(monitio_settings.KEY_PREFIX, user.pk)
    stop = time.monotonic() + deadline
    while True:
        entries = redis_client.xrange(key)
        if len(entries) >= count or time.monotonic() > stop:
            return [(fields["e"], json.loads(fields["d"])) for _, fields in entries]
        time.sleep(0.05)


def _csrf_client(user) -> Client:
    """A browser with CSRF enforced, logged in as ``user``, holding its CSRF cookie."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(reverse(USERS))
    return client


def _token(client: Client) -> str:
    return client.cookies["csrftoken"].value


@pytest.fixture
def root(transactional_db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw")


def _staff():
    """Staff who may see users, but has no permission to send messages."""
    user = get_user_model().objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_user"))
    return user


def test_send_action_queues_one_message_per_selected_user(worker, redis_client, root, alice, bob):
    client = _csrf_client(root)
    chosen = {"action": "send_message", "_selected_action": [alice.pk, bob.pk]}
    assert client.post(reverse(USERS), {**chosen, "index": 0}).status_code == 403  # no token
    form = client.post(
        reverse(USERS), {**chosen, "index": 0, "csrfmiddlewaretoken": _token(client)}
    )
    assert form.status_code == 200
    assert 'name="apply"' in form.content.decode() and not Message.objects.exists()
    sent = client.post(
        reverse(USERS),
        {
            **chosen,
            "apply": "Send",
            "level": WARNING,
            "subject": "Maintenance",
            "text": "Down at <b>noon</b>",
            "email": "on",
            "csrfmiddlewaretoken": _token(client),
        },
    )
    assert sent.status_code == 302
    for user in (alice, bob):
        [(event, data)] = _events(redis_client, user, 1)
        assert event == wire.MESSAGE
        assert (data["message"], data["subject"], data["level"]) == ("Down at <b>noon</b>", "Maintenance", WARNING)
        assert data["from_user"] == "root" and data["safe"] is False
    rows = Message.objects.order_by("user_id")
    assert [(m.user_id, m.email, m.from_user_id) for m in rows] == [
        (alice.pk, True, root.pk), (bob.pk, True, root.pk)
    ]


def test_send_action_form_errors_queue_nothing(root, alice, broker_client):
    client = _csrf_client(root)
    response = client.post(
        reverse(USERS),
        {"action": "send_message", "_selected_action": [alice.pk], "apply": "Send",
         "level": INFO, "text": "", "csrfmiddlewaretoken": _token(client)},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["text"]
    assert broker_client.llen("celery") == 0


def test_send_action_needs_the_add_message_permission(transactional_db, alice, broker_client):
    staff = _staff()
    client = _csrf_client(staff)
    data = {"action": "send_message", "_selected_action": [alice.pk], "apply": "Send",
            "level": INFO, "text": "hi", "csrfmiddlewaretoken": _token(client)}
    refused = client.post(reverse(USERS), data, follow=True)
    assert "You may not send messages to users." in refused.content.decode()
    assert broker_client.llen("celery") == 0
    staff.user_permissions.add(Permission.objects.get(codename="add_message"))
    client.post(reverse(USERS), data)
    assert broker_client.llen("celery") == 1


def _message(user, text="hello", **fields) -> Message:
    fields.setdefault("level", INFO)
    return Message.objects.create(user=user, message=text, **fields)


def test_deleting_in_the_admin_publishes_deleted(redis_client, root, alice, bob):
    one, two, kept = _message(alice), _message(alice), _message(alice)
    other = _message(bob)
    client = _csrf_client(root)
    client.post(
        reverse("admin:monitio_message_delete", args=[one.pk]),
        {"post": "yes", "csrfmiddlewaretoken": _token(client)},
    )
    client.post(
        reverse("admin:monitio_message_changelist"),
        {"action": "delete_selected", "post": "yes", "_selected_action": [two.pk, other.pk],
         "csrfmiddlewaretoken": _token(client)},
    )
    assert list(Message.objects.values_list("pk", flat=True)) == [kept.pk]
    assert _events(redis_client, alice) == [
        (wire.DELETED, {"ids": [str(one.pk)], "unread": 2}),
        (wire.DELETED, {"ids": [str(two.pk)], "unread": 1}),
    ]
    assert _events(redis_client, bob) == [(wire.DELETED, {"ids": [str(other.pk)], "unread": 0})]


def _change_form(row: Message, **changes) -> dict:
    data = {
        "from_user": "",
        "level": row.level,
        "subject": row.subject,
        "message": row.message,
        "extra_tags": "",
        "created_0": row.created.strftime("%Y-%m-%d"),
        "created_1": row.created.strftime("%H:%M:%S"),
        "expires_0": "",
        "expires_1": "",
        "close_timeout": "",
        "url": "",
    }
    if row.read:
        data["read"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_editing_read_in_the_admin_publishes_read_then_unread(redis_client, root, alice):
    message, _other = _message(alice), _message(alice)
    client = _csrf_client(root)
    change = reverse("admin:monitio_message_change", args=[message.pk])
    token = {"csrfmiddlewaretoken": _token(client)}
    assert client.post(change, {**_change_form(message, read="on"), **token}).status_code == 302
    message.refresh_from_db()
    assert message.read and message.read_at is not None
    assert client.post(change, {**_change_form(message, read=None), **token}).status_code == 302
    message.refresh_from_db()
    assert not message.read and message.read_at is None
    assert _events(redis_client, alice) == [
        (wire.READ, {"ids": [str(message.pk)], "unread": 1}),
        (wire.UNREAD, {"ids": [str(message.pk)], "unread": 2}),
    ]


def test_text_edits_in_the_admin_are_saved_and_not_published(redis_client, root, alice, bob):
    message = _message(alice, "typo")
    client = _csrf_client(root)
    change = reverse("admin:monitio_message_change", args=[message.pk])
    # "user" is read-only on a stored message: a posted one is ignored.
    form = _change_form(message, message="fixed", user=bob.pk)
    response = client.post(change, {**form, "csrfmiddlewaretoken": _token(client)})
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.message, message.user_id) == ("fixed", alice.pk)
    assert _events(redis_client, alice) == [] and _events(redis_client, bob) == []
