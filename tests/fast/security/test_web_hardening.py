"""Attacks on the views, named for the attack and the answer (S8 CSRF, S9 IDOR).

``MONITIO_TEST_IDOR_IDS`` raises the number of foreign ids S9 tries (default 1,000).
"""

from __future__ import annotations

import os
import secrets

import pytest
from django.test import Client

from monitio.models import Message
from tests.fast.web.helpers import JSON, POST_VIEWS, csrf_token, snapshot, url

IDOR_IDS = int(os.environ.get("MONITIO_TEST_IDOR_IDS", "1000"))


@pytest.fixture
def targets(alice, make_message):
    """Alice's messages: one unread and one read, so that every view has work to do."""
    unread = make_message(alice, "unread one")
    read = make_message(alice, "read one", read=True)
    return {
        "message_mark_read": url("message_mark_read", unread.pk),
        "message_mark_unread": url("message_mark_unread", read.pk),
        "message_mark_all_read": url("message_mark_all_read"),
        "message_delete": url("message_delete", unread.pk),
        "message_delete_all": url("message_delete_all"),
    }


def _attacks(client: Client, target: str, token: str):
    """Yield (attack name, response) for every way a forged state change may arrive."""
    yield "GET", client.get(target)
    yield "GET with token", client.get(target, {"csrfmiddlewaretoken": token})
    yield "POST without token", client.post(target)
    yield "POST without token, JSON", client.post(target, **JSON)
    yield (
        "POST with bad token",
        client.post(target, {"csrfmiddlewaretoken": secrets.token_hex(32)}),
    )
    yield "POST with bad header token", client.post(target, HTTP_X_CSRFTOKEN="x" * 64)
    # A foreign site replaying a token it somehow learned: the Origin gives it away.
    yield (
        "HTTPS POST from foreign Origin",
        client.post(
            target,
            {"csrfmiddlewaretoken": token},
            secure=True,
            HTTP_ORIGIN="https://evil.example",
        ),
    )
    yield (
        "HTTPS POST from foreign Referer",
        client.post(
            target,
            {"csrfmiddlewaretoken": token},
            secure=True,
            HTTP_REFERER="https://evil.example/x",
        ),
    )
    yield (
        "HTTPS POST with no Referer",
        client.post(target, {"csrfmiddlewaretoken": token}, secure=True),
    )
    yield (
        "POST from null Origin",
        client.post(target, {"csrfmiddlewaretoken": token}, HTTP_ORIGIN="null"),
    )


def test_csrf_forged_state_changes_refused_403_405_with_no_change(csrf_client, targets):
    token = csrf_token(csrf_client)
    before = snapshot()
    attempts = refused = changed = 0
    for name, _ in POST_VIEWS:
        for attack, response in _attacks(csrf_client, targets[name], token):
            attempts += 1
            expected = 405 if attack.startswith("GET") else 403
            assert response.status_code == expected, (
                name,
                attack,
                response.status_code,
            )
            refused += 1
            changed += snapshot() != before
    print(f"S8 attempts={attempts} refused={refused} changed={changed}")
    assert changed == 0 and refused == attempts


@pytest.mark.parametrize("name", [name for name, _ in POST_VIEWS])
def test_csrf_valid_token_is_accepted(csrf_client, targets, name):
    token = csrf_token(csrf_client)
    before = snapshot()
    form = csrf_client.post(targets[name], {"csrfmiddlewaretoken": token})
    assert form.status_code == 302
    # The same comparison that S8 counts on sees a real change.
    assert snapshot() != before
    # The header form (what the browser client sends) works too, over HTTPS
    # from our own origin.
    header = csrf_client.post(
        targets[name],
        secure=True,
        HTTP_X_CSRFTOKEN=token,
        HTTP_ORIGIN="https://testserver",
        **JSON,
    )
    assert header.status_code in (200, 404)  # 404: the first request deleted it


def test_idor_foreign_ids_answer_404_and_change_nothing(
    settings, alice_client, bob, make_message
):
    # Unlimited here, to see every answer (the limit would refuse most probes
    # with 429 first: tests/fast/web/test_throttle.py).
    settings.MONITIO = settings.MONITIO | {"STATE_CHANGE_RATE": None}
    foreign = [make_message(bob, f"bob {i}", read=i % 2 == 1) for i in range(IDOR_IDS)]
    before = snapshot()
    statuses: dict[int, int] = {}
    for i, message in enumerate(foreign):
        # Each id goes to one state change in turn, and to the detail page.
        name = ("message_mark_read", "message_mark_unread", "message_delete")[i % 3]
        for response in (
            alice_client.post(url(name, message.pk)),
            alice_client.get(url("message_detail", message.pk)),
        ):
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    # The bulk views only ever touch the requester's own rows.
    alice_client.post(url("message_mark_all_read"))
    alice_client.post(url("message_delete_all"))
    after = snapshot()
    changed = sum(1 for a, b in zip(before, after, strict=False) if a != b) + abs(
        len(before) - len(after)
    )
    print(
        f"S9 foreign_ids={IDOR_IDS} requests={sum(statuses.values())} "
        f"statuses={statuses} changed={changed}"
    )
    assert statuses == {404: 2 * IDOR_IDS}
    assert changed == 0
    assert Message.objects.filter(user=bob).count() == IDOR_IDS


def test_stream_credential_only_by_csrf_checked_post_of_a_logged_in_user(
    csrf_client, client, alice
):
    """``stream/`` (the gateway's view, mounted here) refuses forged or anonymous
    requests."""
    cookie = "monitio_stream"
    target = url("persistent-messages-sse")
    token = csrf_token(csrf_client)
    refused = [
        csrf_client.get(target),
        csrf_client.post(target),
        csrf_client.post(target, {"csrfmiddlewaretoken": secrets.token_hex(32)}),
        csrf_client.post(
            target,
            {"csrfmiddlewaretoken": token},
            secure=True,
            HTTP_ORIGIN="https://evil.example",
        ),
        client.post(target, **JSON),
    ]
    assert [r.status_code for r in refused] == [405, 403, 403, 403, 401]
    assert not any(cookie in r.cookies for r in refused)
    granted = csrf_client.post(target, {"csrfmiddlewaretoken": token}, **JSON)
    assert granted.status_code == 200 and granted.cookies[cookie]["httponly"]
