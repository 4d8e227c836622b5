"""A gateway configured by variables alone records its stream values in Redis, and
``manage.py check`` says when they disagree with the site's (monitio.W011)."""

from __future__ import annotations

import logging

import pytest
from django.core import checks

from monitio.conf import fingerprint_key
from monitio.conf import settings as monitio_settings
from sse_gateway.announce import announce
from sse_gateway.config import Config


def w011() -> list[checks.CheckMessage]:
    return [m for m in checks.run_checks(tags=["monitio"]) if m.id == "monitio.W011"]


@pytest.fixture
def gateway_record(redis_client):
    """Write a gateway's record as ``announce`` does; removed afterwards."""
    key = fingerprint_key(monitio_settings.KEY_PREFIX)

    def write(**changes: str) -> None:
        values = {
            "stream_secret": monitio_settings.STREAM_SECRET,
            "redis_url": monitio_settings.REDIS_URL,
            "key_prefix": monitio_settings.KEY_PREFIX,
            **changes,
        }
        announce(Config(**values))

    yield write
    redis_client.delete(key)


def test_a_gateway_that_agrees_raises_nothing(gateway_record):
    gateway_record()
    assert w011() == []


@pytest.mark.parametrize("change, said", [
    ({"stream_secret": "another-secret"}, "stream secret"),
    ({"cookie_name": "other_cookie"}, "cookie name"),
    ({"path": "/live/"}, "stream path"),
])
def test_each_disagreement_is_named(gateway_record, change, said):
    gateway_record(**change)
    [warning] = w011()
    assert said in warning.msg
    assert "another-secret" not in warning.msg + warning.hint


def test_no_redis_answering_is_logged_not_raised(caplog):
    config = Config(stream_secret="s", redis_url="redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, logger="sse_gateway"):
        announce(config)
    assert "could not record the configuration" in caplog.text
