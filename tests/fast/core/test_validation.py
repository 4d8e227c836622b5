"""Every way into the queue refuses, in the caller, what the worker could not store
(issue 16, items 1, 2 and 6): nothing is queued for it, and a batch keeps the rest."""

from types import SimpleNamespace

import pytest
from django.db import models

import monitio
from monitio import validation
from monitio.exceptions import InvalidMessage, MessageTooLarge, UnknownLevel
from tests.fast.core.test_api import make_request
from tests.fast.core.test_batches import queued

#: Keyword arguments the database or the browser cannot take, for each of the
#: caller's ways in.
BAD_OPTIONS = {
    "surrogate in message": {"message": "bad\ud800"},
    "surrogate in subject": {"subject": "\udfff"},
    "surrogate in extra_tags": {"extra_tags": "a\ud800"},
    "surrogate in url": {"url": "/a\ud800"},
    "NUL in extra_tags": {"extra_tags": "a\x00"},
    "NUL in url": {"url": "/a\x00b"},
    "close_timeout 2**63": {"close_timeout": 2**63},
    "close_timeout 2**31": {"close_timeout": 2**31},
    "expires out of range in UTC": {
        "expires": __import__("datetime").datetime.fromisoformat("9999-12-31T23:59:59-14:00")
    },
    "url //host": {"url": "//evil.example/"},
    "url /\\host": {"url": "/\\evil.example/"},
    "url /<tab>/host": {"url": "/\t/evil.example/"},
    "url /<newline>/host": {"url": "/\n/evil.example/"},
    "url https": {"url": "https://evil.example/"},
    "url javascript": {"url": "javascript:alert(1)"},
    "url relative": {"url": "evil.example"},
}


def call_kwargs(bad: dict) -> dict:
    return {"message": "hi", **bad}


@pytest.mark.parametrize("bad", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_create_message_in_a_batch_refuses_the_bad_one_and_sends_the_rest(
    transactional_db, alice, broker_client, bad
):
    with monitio.batch():
        for i in range(3):
            monitio.create_message(alice, monitio.INFO, f"ok{i}")
        with pytest.raises(InvalidMessage):
            monitio.create_message(alice, monitio.INFO, **call_kwargs(bad))
    assert queued(broker_client) == [["ok0", "ok1", "ok2"]]


@pytest.mark.parametrize("bad", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_add_message_refuses(alice, bob, bad):
    with pytest.raises(InvalidMessage):
        monitio.add_message(make_request(alice), monitio.INFO, user=bob, **call_kwargs(bad))


@pytest.mark.parametrize("bad", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_create_message_delay_refuses_before_queueing(alice, broker_client, bad):
    with pytest.raises(InvalidMessage):
        monitio.create_message.delay(alice.pk, monitio.INFO, **call_kwargs(bad))
    assert broker_client.llen("celery") == 0


@pytest.mark.parametrize(
    "level, message, error",
    [
        (999, "hi", UnknownLevel),
        ("120", "hi", UnknownLevel),
        (monitio.INFO, "x" * 10_000_000, MessageTooLarge),
        (monitio.INFO, "bad\ud800", InvalidMessage),
        (monitio.INFO, "a\x00b", InvalidMessage),
    ],
    ids=["level 999", "level '120'", "10 MB text", "lone surrogate", "NUL"],
)
def test_create_message_delay_validates_in_the_caller(alice, broker_client, level, message, error):
    with pytest.raises(error):
        monitio.create_message.delay(alice.pk, level, message)
    assert broker_client.llen("celery") == 0
    monitio.create_message.delay(alice.pk, monitio.INFO, "fine")
    assert broker_client.llen("celery") == 1


BAD_IDS = {"abc": "abc", "2**63": 2**63, "-2**63-1": -(2**63) - 1, "float": 1.0, "None": None,
           "bool": True}


@pytest.mark.parametrize("user_id", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_a_recipient_id_of_the_wrong_type_or_range_is_refused(
    transactional_db, alice, broker_client, user_id
):
    with pytest.raises(InvalidMessage):
        monitio.create_message.delay(user_id, monitio.INFO, "hi")
    with pytest.raises(InvalidMessage):
        monitio.create_message.delay(alice.pk, monitio.INFO, "hi", from_user=user_id
                                     if user_id is not None else "abc")
    with pytest.raises(InvalidMessage):
        monitio.create_messages([alice.pk, user_id], monitio.INFO, "hi")
    if user_id is not None:
        with pytest.raises(InvalidMessage):
            monitio.create_message(user_id, monitio.INFO, "hi")
        with pytest.raises(InvalidMessage):
            monitio.create_message(alice, monitio.INFO, "hi", from_user=user_id)
        with pytest.raises(InvalidMessage):
            monitio.add_message(make_request(alice), monitio.INFO, "hi", user=user_id)
        with pytest.raises(InvalidMessage):
            monitio.add_message(make_request(alice), monitio.INFO, "hi", from_user=user_id)
    assert broker_client.llen("celery") == 0


def test_a_recipient_id_given_as_a_string_is_sent_as_the_primary_key(
    transactional_db, alice, broker_client
):
    with monitio.batch():
        monitio.create_message(str(alice.pk), monitio.INFO, "hi")
    ((payload,),) = [[p for p in task] for task in _bodies(broker_client)]
    assert payload["user"] == alice.pk


def test_a_uuid_primary_key_takes_uuid_ids(monkeypatch):
    """A custom user model with a UUID key: ids are UUIDs (sent as str), not ints."""
    user_model = SimpleNamespace(_meta=SimpleNamespace(pk=models.UUIDField(primary_key=True)))
    monkeypatch.setattr(validation, "get_user_model", lambda: user_model)
    key = "6f0f5c3e-3c49-4a51-9a3b-1f6f2f8d9a10"
    assert validation.check_user_id(key) == key
    assert validation.check_user_id(key.replace("-", "")) == key
    for bad in ("abc", "12345"):
        with pytest.raises(InvalidMessage):
            validation.check_user_id(bad)


@pytest.mark.parametrize(
    "url", ["/", "/inbox/", "/orders/12/?tab=items&x=%2F#top", "/caf%C3%A9/", "/a b/"]
)
def test_a_path_on_this_site_is_accepted(alice, bob, url):
    assert monitio.add_message(make_request(alice), monitio.INFO, "hi", user=bob, url=url)


def test_largest_close_timeout_is_accepted(alice, bob):
    assert monitio.add_message(
        make_request(alice), monitio.INFO, "hi", user=bob, close_timeout=2**31 - 1
    )


def _bodies(broker_client) -> list[list[dict]]:
    from tests.fast.core.test_storage import task_body

    return [task_body(raw)[0][0] for raw in reversed(broker_client.lrange("celery", 0, -1))]
