"""S4: logout, deactivation and a password change close the user's open streams
within the documented bound ("within a second or two", docs/gateway.md), and their
credentials are refused afterwards.

Ten users log in through Django's login (a real session each) and get their stream
credential from ``messages/stream/``; each opens 10 streams (100 in all). Users 1-4
log out, 5-7 are deactivated, 8-10 change their password. Controls that must stay
open: an eleventh user's 10 streams, and 5 streams of user 1's *other* login
session (logging out ends one session, not the others).

Printed::

    S4 streams=100 closed=100/100 close_p50_s=… close_max_s=… bound_s=2
       old_credentials_rejected=100/100 controls_open=15/15
"""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from monitio import publish, wire
from tests.process.faults.client import median
from tests.sseclient import Stream

PER_USER = 10


def _login(username: str) -> tuple[Client, str]:
    """Log in through the login machinery and get a stream credential."""
    browser = Client(enforce_csrf_checks=True)
    assert browser.login(username=username, password="pw")
    browser.get(reverse("monitio:inbox"))
    answer = browser.post(
        reverse("monitio:persistent-messages-sse"),
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert answer.status_code == 200
    return browser, browser.cookies["monitio_stream"].value


def _open(port: int, token: str, count: int) -> list[Stream]:
    streams = [Stream(port, cookie=f"monitio_stream={token}") for _ in range(count)]
    assert [s.status() for s in streams] == [200] * count
    return streams


def test_logout_deactivation_and_password_change_close_streams(
    start_gateway, redis_client, transactional_db
):
    gw = start_gateway(MONITIO_MAX_STREAMS_PER_USER="20")
    users = [
        get_user_model().objects.create_user(f"user{n}", password="pw")
        for n in range(1, 12)
    ]
    sessions = {u.pk: _login(u.username) for u in users}
    streams = {u.pk: _open(gw.port, sessions[u.pk][1], PER_USER) for u in users}
    _, other_token = _login("user1")  # user 1 in a second browser
    controls = _open(gw.port, other_token, 5) + streams[users[-1].pk]

    acted_at: dict[int, float] = {}
    for n, user in enumerate(users[:10], start=1):
        acted_at[user.pk] = time.monotonic()
        if n <= 4:
            sessions[user.pk][0].logout()
        elif n <= 7:
            user.is_active = False
            user.save()
        else:
            user.set_password("new password")
            user.save()
    closed_after = []
    deadline = time.monotonic() + 15
    pending = [(acted_at[u.pk], s) for u in users[:10] for s in streams[u.pk]]
    while pending and time.monotonic() < deadline:
        still = []
        for acted, stream in pending:
            if stream.ended.is_set():
                closed_after.append(time.monotonic() - acted)
            else:
                still.append((acted, stream))
        pending = still
        time.sleep(0.01)

    rejected = 0
    for user in users[:10]:
        for again in [
            Stream(gw.port, cookie=f"monitio_stream={sessions[user.pk][1]}")
            for _ in range(PER_USER)
        ]:
            rejected += again.status() == 401
            again.close()
    marker_a = publish.publish(users[0].pk, wire.MESSAGE, {"still": "open"})
    marker_b = publish.publish(users[-1].pk, wire.MESSAGE, {"still": "open"})
    alive = sum(
        s.wait(lambda s: any(e.id in (marker_a, marker_b) for e in s.events), 10)
        for s in controls
    )
    for s in [*controls, *(s for group in streams.values() for s in group)]:
        s.close()
    print(
        f"\nS4 streams={10 * PER_USER} closed={len(closed_after)}/{10 * PER_USER} "
        f"close_p50_s={median(closed_after):.3f} "
        f"close_max_s={max(closed_after, default=float('nan')):.3f} bound_s=2 "
        f"old_credentials_rejected={rejected}/{10 * PER_USER} "
        f"controls_open={alive}/{len(controls)} "
        f"revoked_metric={gw.metric('revoked_streams_total'):g}"
    )
    assert len(closed_after) == 10 * PER_USER
    assert rejected == 10 * PER_USER
    assert alive == len(controls)


@pytest.mark.parametrize("loss", ["flushall", "restart"])
def test_revocation_outlives_redis_data_loss(
    start_gateway, own_redis, transactional_db, loss
):
    """Revocations live in Redis. When Redis loses its data (FLUSHALL, or a restart
    without persistence) they are gone, so every credential minted before must die
    with them: tokens carry the epoch and the gateway refuses other epochs. The
    page then gets a fresh token from Django the normal way."""
    gw = start_gateway(redis_url=own_redis.url)
    user = get_user_model().objects.create_user("erin", password="pw")
    leaving, staying = _login("erin"), _login("erin")
    tokens = {"revoked": leaving[1], "live": staying[1]}
    assert [s.status() for s in _open(gw.port, tokens["revoked"], 1)] == [200]
    leaving[0].logout()
    refused_before = _refused(gw.port, tokens["revoked"])
    if loss == "flushall":
        own_redis.admin().flushall()
    else:
        own_redis.crash()
        own_redis.start()
        publish.reset_client()
    refused_after = {kind: _refused(gw.port, token) for kind, token in tokens.items()}
    fresh = staying[0].post(
        reverse("monitio:persistent-messages-sse"),
        HTTP_X_CSRFTOKEN=staying[0].cookies["csrftoken"].value,
    )
    reopened = _open(gw.port, fresh.cookies["monitio_stream"].value, 1)
    marker = publish.publish(user.pk, wire.MESSAGE, {"after": loss})
    delivered = reopened[0].wait(lambda s: any(e.id == marker for e in s.events))
    reopened[0].close()
    print(
        f"\nS4 data_loss={loss} revoked_refused_before={refused_before}/{TRIES} "
        f"revoked_refused_after={refused_after['revoked']}/{TRIES} "
        f"pre_loss_token_refused={refused_after['live']}/{TRIES} "
        f"fresh_token_streams={'yes' if delivered else 'no'}"
    )
    assert refused_before == TRIES
    assert refused_after == {"revoked": TRIES, "live": TRIES}
    assert delivered


TRIES = 5


def _refused(port: int, token: str) -> int:
    refused = 0
    for _ in range(TRIES):
        again = Stream(port, cookie=f"monitio_stream={token}")
        refused += again.status() == 401
        again.close()
    return refused
