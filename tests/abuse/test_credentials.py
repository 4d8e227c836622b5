"""S1: 100 forged, tampered, expired and other users' stream credentials, sent to a
gateway directly and through nginx: 100 % refused with 401, 0 event bytes.

Unlike the gateway suite's forged-token test, the genuine credentials here come
from Django's own ``messages/stream/`` view for real logged-in users, and a
quarter of the set are real credentials that must no longer work: the login
session was logged out, the user deactivated or their password changed, or the
token was minted for another site's secret.

Printed::

    S1 credentials=100 kinds=forged:25,tampered:25,expired:25,other:25
       rejected_401=200/200 event_bytes=0 (direct and via nginx)
"""

from __future__ import annotations

import base64
import json
import random
import time

from django.core import signing
from django.test import Client
from django.urls import reverse

from monitio import publish, wire
from monitio.stream import current_epoch
from tests.gateway.conftest import SECRET
from tests.gateway.sseclient import Stream

from .conftest import browser_for
from .leaks import EVENT_BYTES

rng = random.Random(7)


def _issue(browser: Client) -> str:
    """Ask Django for a stream credential, as the page does; return the token."""
    answer = browser.post(
        reverse("monitio:persistent-messages-sse"), HTTP_X_CSRFTOKEN=_csrf(browser)
    )
    assert answer.status_code == 200
    return browser.cookies["monitio_stream"].value


def _csrf(browser: Client) -> str:
    browser.get(reverse("monitio:inbox"))
    return browser.cookies["csrftoken"].value


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _forged(alice) -> list[str]:
    claims = {"u": str(alice.pk), "s": "x", "t": int(time.time())}
    jwt_none = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': str(alice.pk)})}."
    tokens = [
        "",
        "null",
        "undefined",
        "0",
        jwt_none,
        jwt_none + "sig",
        signing.dumps(claims, key="guessed-secret", salt=wire.TOKEN_SALT),
        signing.dumps(claims, key=SECRET, salt="django.core.signing"),
        signing.dumps(claims, key=SECRET),  # no salt
        signing.dumps(claims, key="monitio-tests-not-secret", salt=wire.TOKEN_SALT),
        signing.dumps(claims, key=SECRET, salt=wire.TOKEN_SALT, compress=True)[:-3]
        + "AAA",
        _b64(claims) + ":" + _b64(claims),
        f"{_b64(claims)}:{int(time.time()):x}:" + "A" * 43,
    ]
    while len(tokens) < 25:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:"
        tokens.append(
            "".join(rng.choice(alphabet) for _ in range(rng.randint(20, 120)))
        )
    return tokens


def _tampered(genuine: str, bob) -> list[str]:
    value, _, signature = genuine.rpartition(":")
    payload, _, stamp = value.partition(":")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tokens = [
        f"{_b64({**claims, 'u': str(bob.pk)})}:{stamp}:{signature}",  # become bob
        f"{_b64({**claims, 't': int(time.time()) + 3600})}:{stamp}:{signature}",
        f"{_b64({**claims, 's': ''})}:{stamp}:{signature}",
        f"{payload}:{int(stamp, 36) + 1:x}:{signature}",
        genuine[:-1],
        genuine + "A",
        genuine.replace(":", "::", 1),
        genuine.swapcase(),
    ]
    while len(tokens) < 25:  # flip one character anywhere in the token
        i = rng.randrange(len(genuine))
        if genuine[i] == ":":
            continue
        flipped = "B" if genuine[i] != "B" else "C"
        tokens.append(genuine[:i] + flipped + genuine[i + 1 :])
    return tokens


def _expired(alice) -> list[str]:
    tokens, epoch = [], current_epoch()
    for age in [301, 302, 330, 400, 600, 900, 3600, 86400, 10**6, 10**8] + list(
        range(305, 620, 21)
    ):
        then = time.time() - age
        tokens.append(
            wire.mint_token(alice.pk, "s", secret=SECRET, epoch=epoch, now=then)
        )
    return tokens[:25]


def _others(alice, bob, django_user_model) -> list[str]:
    """Genuine credentials that must no longer open a stream, or not here."""
    tokens = []
    for _ in range(8):  # a logged-out session's credentials
        browser = browser_for(alice)
        tokens.append(_issue(browser))
        browser.logout()
    carol = django_user_model.objects.create_user("carol", "c@example.com", "pw")
    tokens += [_issue(browser_for(carol)) for _ in range(8)]
    carol.is_active = False
    carol.save()
    dave = django_user_model.objects.create_user("dave", "d@example.com", "pw")
    tokens += [_issue(browser_for(dave)) for _ in range(5)]
    dave.set_password("changed")
    dave.save()
    # Another deployment's credentials for the same user ids (another secret).
    tokens += [
        wire.mint_token(u.pk, "s", secret="other-site-secret", epoch=current_epoch())
        for u in (alice, bob, alice, bob)
    ]
    return tokens


def _attempt(port: int, token: str) -> tuple[int, bool]:
    stream = Stream(
        port, cookie=f"monitio_stream={token}", headers={"Last-Event-ID": "x:0-0"}
    )
    status = stream.status()
    stream.wait_end(5)
    stream.close()
    raw = bytes(stream.raw)
    return status, bool(EVENT_BYTES.search(raw)) or b"secret-of" in raw


def test_forged_tampered_expired_and_foreign_credentials_rejected(
    start_gateway, start_nginx, redis_db, alice, bob, django_user_model
):
    gw = start_gateway()
    proxy = start_nginx(gw.port)
    for user in (alice, bob):
        publish.publish(user.pk, wire.MESSAGE, {"text": f"secret-of-{user.pk}"})
    genuine = _issue(browser_for(alice))
    kinds = {
        "forged": _forged(alice),
        "tampered": _tampered(genuine, bob),
        "expired": _expired(alice),
        "other": _others(alice, bob, django_user_model),
    }
    time.sleep(0.5)  # the revocations reach the gateway through Redis
    rejected = attempts = leaked = 0
    for tokens in kinds.values():
        for token in tokens:
            for port in (gw.port, proxy.port):
                status, leak = _attempt(port, token)
                attempts += 1
                rejected += status == 401
                leaked += leak
    total = sum(map(len, kinds.values()))
    print(
        f"\nS1 credentials={total} kinds="
        f"{','.join(f'{k}:{len(v)}' for k, v in kinds.items())} "
        f"rejected_401={rejected}/{attempts} event_bytes={leaked} paths=direct+nginx"
    )
    assert total == 100
    assert rejected == attempts and leaked == 0
    # The genuine one still works, so the refusals are not a broken gateway.
    assert _attempt(gw.port, genuine)[0] == 200
