"""The carry: a message queued in one request shows on the next page before its row exists.

It travels in a signed cookie (the session only when it does not fit), is bound to its
user, and is never shown when forged.
"""

import json
import secrets
import time

import pytest
from django.contrib.messages import constants as django_levels
from django.core import signing
from django.test import RequestFactory

import monitio
from monitio import carry, payloads
from monitio.models import Message
from monitio.storage import PersistentMessageStorage
from tests.fast.core.test_storage import shown


def carry_cookie(client) -> str:
    morsel = client.cookies.get(carry.COOKIE_NAME)
    return morsel.value if morsel is not None else ""


def signed_carry(user_id, text, safe=False, salt=carry.SALT, key=None) -> str:
    payload = payloads.build(user_id=user_id, level=monitio.INFO, message=text)
    payload.update(safe=safe, carried_at=time.time())
    return signing.dumps([payloads.compact(payload)], key=key, salt=salt, compress=True)


def test_carry_goes_in_a_signed_cookie_not_the_session(transactional_db, alice, alice_client, broker_client):
    response = alice_client.get(f"/add/?level={monitio.INFO}&text=carried&n=2")
    morsel = response.cookies[carry.COOKIE_NAME]
    assert morsel["httponly"] and morsel["samesite"] == "Lax"
    assert carry.SESSION_KEY not in alice_client.session
    carried = signing.loads(carry_cookie(alice_client), salt=carry.SALT)
    assert [c["message"] for c in carried] == ["carried 0", "carried 1"]
    assert shown(alice_client.get("/page/")) == ["carried 0", "carried 1"]
    assert Message.objects.count() == 0  # no worker: shown from the cookie


def test_cookie_is_deleted_once_the_rows_exist(worker, alice, alice_client):
    alice_client.get(f"/add/?level={monitio.INFO}&text=stored")
    assert carry_cookie(alice_client)
    from tests.waiting import wait_until

    wait_until(lambda: Message.objects.filter(user=alice).exists())
    response = alice_client.get("/page/")
    assert shown(response) == ["stored 0"]
    assert response.cookies[carry.COOKIE_NAME].value == ""  # deleted
    assert shown(alice_client.get("/page/")) == ["stored 0"]  # from the database, once


@pytest.mark.parametrize(
    "forge",
    [
        lambda user: signed_carry(user.pk, "<script>x</script>", safe=True, key="not-our-secret"),
        lambda user: signed_carry(user.pk, "wrong salt", salt="django.contrib.messages"),
        lambda user: "W10:1tEOaX:" + "A" * 43,  # "[]" with a made-up signature
        lambda user: "garbage",
    ],
    ids=["other-key", "other-salt", "bad-signature", "garbage"],
)
def test_forged_carry_cookie_shows_nothing(transactional_db, alice, alice_client, forge):
    alice_client.cookies[carry.COOKIE_NAME] = forge(alice)
    response = alice_client.get("/page/")
    assert shown(response) == []
    assert response.cookies[carry.COOKIE_NAME].value == ""  # and it is dropped


def test_tampered_carry_cookie_shows_nothing(transactional_db, alice, alice_client, broker_client):
    alice_client.get(f"/add/?level={monitio.INFO}&text=genuine")
    value = carry_cookie(alice_client)
    alice_client.cookies[carry.COOKIE_NAME] = value[:8] + ("A" if value[8] != "A" else "B") + value[9:]
    assert shown(alice_client.get("/page/")) == []


def test_another_users_carry_cookie_is_not_shown(transactional_db, alice, bob, alice_client):
    alice_client.cookies[carry.COOKIE_NAME] = signed_carry(bob.pk, "for bob")
    assert shown(alice_client.get("/page/")) == []


def test_carried_text_is_escaped_unless_marked_safe(transactional_db, alice, alice_client, broker_client):
    response = alice_client.get(f"/add/?level={monitio.INFO}&text=<b>bold</b>", follow=True)
    body = response.content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt; 0" in body and "<b>bold</b>" not in body


def test_carry_too_big_for_a_cookie_goes_to_the_session(transactional_db, alice, alice_client, broker_client):
    text = secrets.token_urlsafe(3000)  # incompressible
    response = alice_client.get(f"/add/?level={monitio.INFO}&text={text}")
    assert carry.COOKIE_NAME not in response.cookies
    assert [p["message"] for p in alice_client.session[carry.SESSION_KEY]] == [f"{text} 0"]
    assert shown(alice_client.get("/page/")) == [f"{text} 0"]
    # A small one next: both are kept, still in the session (they do not fit together).
    alice_client.get(f"/add/?level={monitio.INFO}&text=small")
    assert len(alice_client.session[carry.SESSION_KEY]) == 2
    assert shown(alice_client.get("/page/")) == [f"{text} 0", "small 0"]


def test_carry_is_bound_to_the_user_after_logout_and_login(transactional_db, alice, bob, client, broker_client):
    client.force_login(alice)
    client.get(f"/add/?level={monitio.INFO}&text=alice only")
    assert carry_cookie(client)
    client.logout()
    client.force_login(bob)
    assert shown(client.get("/page/")) == []


def test_message_shown_in_the_same_request_keeps_its_place(alice):
    """Shown in the request that queued it, a persistent message is Django's own
    Message, where Django put it; it is carried, not kept in Django's cookie."""
    from django.http import HttpResponse

    request = RequestFactory().get("/")
    request.user, request.session = alice, {}
    storage = request._messages = PersistentMessageStorage(request)
    storage.add(django_levels.INFO, "plain first")
    monitio.add_message(request, monitio.INFO, "persistent second")
    storage.add(django_levels.WARNING, "plain third")
    assert len(storage) == 3
    listed = list(storage)
    assert [str(m) for m in listed] == ["plain first", "persistent second", "plain third"]
    assert [m.level for m in listed] == [django_levels.INFO, monitio.INFO, django_levels.WARNING]
    assert storage.count_persistent_unread() == 1
    response = HttpResponse()
    storage.update(response)
    assert [c["message"] for c in signing.loads(response.cookies[carry.COOKIE_NAME].value,
                                                 salt=carry.SALT)] == ["persistent second"]
    assert "messages" not in response.cookies  # shown: Django's cookie keeps nothing


def test_cookie_holds_the_compact_payload(transactional_db, alice, alice_client, broker_client):
    alice_client.get(f"/add/?level={monitio.WARNING}&text=small&subject=Hi")
    (entry,) = signing.loads(carry_cookie(alice_client), salt=carry.SALT)
    assert set(entry) == {"id", "user", "level", "message", "subject", "created", "carried_at"}
    assert payloads.expand(entry)["subject"] == "Hi" and json.dumps(entry)


def test_one_carried_message_is_signed_without_compression(transactional_db, alice_client, broker_client):
    alice_client.get(f"/add/?level={monitio.INFO}")
    value = carry_cookie(alice_client)
    assert not value.startswith(".") and len(value) <= carry.COMPRESS_OVER
    assert [c["message"] for c in signing.loads(value, salt=carry.SALT)] == ["hello 0"]


def test_ten_carried_messages_fit_in_a_small_compressed_cookie(transactional_db, alice_client, broker_client):
    alice_client.get(f"/add/?level={monitio.INFO}&n=10")
    value = carry_cookie(alice_client)
    assert value.startswith(".") and len(value) < 1000  # "." marks compressed data
    assert [c["message"] for c in signing.loads(value, salt=carry.SALT)] == [f"hello {i}" for i in range(10)]
    assert carry.SESSION_KEY not in alice_client.session
