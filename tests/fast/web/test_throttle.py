"""State changes are limited per user (``MONITIO["STATE_CHANGE_RATE"]``, counted by
django-ratelimit in Django's cache): past the limit a change answers 429 with
``Retry-After`` and changes nothing; other users keep their own budget."""

from __future__ import annotations

import logging

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from .helpers import JSON, POST_VIEWS, body, snapshot, url


@pytest.fixture
def limit_three(settings):
    """Three changes an hour: no window ends during a test."""
    settings.MONITIO = settings.MONITIO | {"STATE_CHANGE_RATE": "3/h"}


def _post(client, name, takes_id, message, **extra):
    return client.post(url(name, message.pk if takes_id else None), **extra)


@pytest.mark.parametrize(("name", "takes_id"), POST_VIEWS)
def test_past_the_limit_a_change_is_refused_with_retry_after(
    limit_three, alice_client, alice, make_message, name, takes_id
):
    message = make_message(alice)
    for _ in range(3):
        make_message(alice)  # something left to change for each allowed request
        assert _post(alice_client, name, takes_id, message, **JSON).status_code in (200, 404)
    before = snapshot()
    refused = _post(alice_client, name, takes_id, message, **JSON)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert body(refused) == {"ok": False, "error": "too many requests"}
    assert snapshot() == before


def test_every_state_change_shares_one_budget_and_browsers_get_text(
    limit_three, alice_client, alice, make_message
):
    message = make_message(alice)
    assert alice_client.post(url("message_mark_read", message.pk)).status_code == 302
    assert alice_client.post(url("message_mark_unread", message.pk)).status_code == 302
    assert alice_client.post(url("message_mark_all_read")).status_code == 302
    before = snapshot()
    refused = alice_client.post(url("message_delete", message.pk))
    assert refused.status_code == 429
    assert refused["Content-Type"] == "text/plain; charset=utf-8"
    assert b"try again" in refused.content
    assert snapshot() == before


def test_each_user_has_a_budget_of_their_own(
    limit_three, alice_client, alice, bob, make_message
):
    bob_client = Client()
    bob_client.force_login(bob)
    for _ in range(4):
        alice_client.post(url("message_mark_all_read"), **JSON)
    assert alice_client.post(url("message_mark_all_read"), **JSON).status_code == 429
    bobs = make_message(bob)
    answer = bob_client.post(url("message_mark_read", bobs.pk), **JSON)
    assert answer.status_code == 200
    bobs.refresh_from_db()
    assert bobs.read


def test_none_lifts_the_limit(settings, alice_client, alice, make_message):
    settings.MONITIO = settings.MONITIO | {"STATE_CHANGE_RATE": None}
    message = make_message(alice)
    statuses = {
        alice_client.post(url("message_mark_read", message.pk), **JSON).status_code
        for _ in range(200)
    }
    assert statuses == {200}


def test_an_unreachable_cache_lets_changes_through_and_logs_it(
    limit_three, settings, alice_client, alice, make_message, caplog
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    message = make_message(alice)
    with caplog.at_level(logging.WARNING, logger="monitio"):
        answers = [
            alice_client.post(url("message_mark_read", message.pk), **JSON) for _ in range(5)
        ]
    assert [a.status_code for a in answers] == [200] * 5
    message.refresh_from_db()
    assert message.read
    assert "State-change limit not checked: the cache failed" in caplog.text


def test_with_a_redis_cache_the_count_lives_in_redis(
    limit_three, settings, alice, redis_client
):
    """With Django's RedisCache (as in production) the count is kept in Redis, where
    every web process draws on it: two clients share one budget, and the counter
    read back from Redis holds all four attempts."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": "throttle-test",
        }
    }
    one, two = Client(), Client()
    one.force_login(alice)
    two.force_login(alice)
    statuses = [
        c.post(url("message_mark_all_read"), **JSON).status_code for c in (one, two, one, two)
    ]
    assert statuses == [200, 200, 200, 429]
    counters = [k for k in redis_client.keys("throttle-test:*")]
    assert len(counters) == 1 and redis_client.get(counters[0]) == "4"


def test_a_malformed_rate_fails_the_system_check(settings):
    settings.MONITIO = settings.MONITIO | {"STATE_CHANGE_RATE": "lots"}
    with pytest.raises(SystemCheckError, match="monitio.E004"):
        call_command("check")
