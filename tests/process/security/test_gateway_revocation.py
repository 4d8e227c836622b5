"""S4 (the gateway-level variant): logout, deactivation and password change end open
streams within seconds, and their old credentials are refused afterwards."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from monitio import publish, wire
from tests.sseclient import Stream

TOKEN_URL = "monitio:persistent-messages-sse"


def _token(client: Client) -> str:
    response = client.post(reverse(TOKEN_URL), HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    return response.cookies["monitio_stream"].value


def _open(gw, token: str, count: int) -> list[Stream]:
    opened = [Stream(gw.port, cookie=f"monitio_stream={token}") for _ in range(count)]
    assert all(s.status() == 200 for s in opened)
    return opened


def _closed_within(opened: list[Stream], began: float, timeout: float = 10) -> float:
    for s in opened:
        assert s.wait_end(timeout), "stream still open after revocation"
    return time.monotonic() - began


def _refused(gw, token: str, tries: int) -> int:
    refused = 0
    for _ in range(tries):
        s = Stream(gw.port, cookie=f"monitio_stream={token}")
        refused += s.status() == 401
        s.close()
    return refused


def test_logout_closes_that_sessions_streams_only(alice, start_gateway, redis_client):
    gw = start_gateway(MONITIO_MAX_STREAMS_PER_USER="300")
    browser_a, browser_b = Client(), Client()
    browser_a.force_login(alice)
    browser_b.force_login(alice)
    token_a, token_b = _token(browser_a), _token(browser_b)
    streams_a, stream_b = _open(gw, token_a, 100), _open(gw, token_b, 1)[0]
    began = time.monotonic()
    browser_a.logout()
    closed_in = _closed_within(streams_a, began)
    refused = _refused(gw, token_a, 100)
    marker = publish.publish(alice.pk, wire.MESSAGE, {"still": "open"})
    assert stream_b.wait(lambda s: any(e.id == marker for e in s.events))
    print(
        f"S4 logout streams=100 closed_max_s={closed_in:.2f} "
        f"old_token_refused={refused}/100 other_session_kept=yes"
    )
    assert refused == 100
    for s in [*streams_a, stream_b]:
        s.close()


@pytest.mark.parametrize("change", ["deactivate", "password"])
def test_deactivation_or_password_change_closes_all_streams(
    alice, start_gateway, redis_client, change
):
    gw = start_gateway(MONITIO_MAX_STREAMS_PER_USER="300")
    browsers = [Client(), Client()]
    tokens = []
    for browser in browsers:
        browser.force_login(alice)
        tokens.append(_token(browser))
    opened = _open(gw, tokens[0], 50) + _open(gw, tokens[1], 50)
    began = time.monotonic()
    if change == "deactivate":
        alice.is_active = False
    else:
        alice.set_password("a-new-password-456")
    alice.save()
    closed_in = _closed_within(opened, began)
    refused = sum(_refused(gw, token, 50) for token in tokens)
    print(
        f"S4 {change} streams=100 closed_max_s={closed_in:.2f} "
        f"old_token_refused={refused}/100"
    )
    assert refused == 100
    for s in opened:
        s.close()


def test_unrelated_user_save_revokes_nothing(alice, start_gateway, redis_client):
    gw = start_gateway(MONITIO_MAX_STREAMS_PER_USER="300")
    browser = Client()
    browser.force_login(alice)
    stream = _open(gw, _token(browser), 1)[0]
    alice.first_name = "Alice"
    alice.save()
    marker = publish.publish(alice.pk, wire.MESSAGE, {"n": 1})
    assert stream.wait(lambda s: any(e.id == marker for e in s.events))
    stream.close()
