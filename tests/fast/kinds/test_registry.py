"""The kind registry and ``kind=`` on every way of sending: an unknown kind is refused
in the caller and nothing is queued; a known one travels to the stored row."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction
from django.test import RequestFactory

import monitio
from monitio import delivery, kinds, payloads
from monitio.exceptions import InvalidMessage, MonitioConfigurationError, UnknownKind
from monitio.models import Message
from monitio.storage import PersistentMessageStorage
from tests.waiting import wait_until

from .conftest import COMMENT, SECURITY


def make_request(user):
    request = RequestFactory().get("/")
    request.user = user
    request.session = {}
    request._messages = PersistentMessageStorage(request)
    return request


@pytest.mark.parametrize("key", ["", "Comment", "a b", "x" * 51, "-lead", 7, None])
def test_a_bad_key_is_refused(key):
    with pytest.raises(MonitioConfigurationError, match="Kind key"):
        monitio.register_kind(key, label="x")


def test_the_default_kind_cannot_be_registered():
    with pytest.raises(MonitioConfigurationError, match="DEFAULT_KIND_MANDATORY"):
        monitio.register_kind(kinds.DEFAULT_KIND, label="x")


@pytest.mark.parametrize(
    "options, match",
    [
        ({"channels": {"sms"}}, "Unknown channel"),
        ({"channels": "email"}, "must be a set of channels"),
        ({"channels": {"inbox"}, "mandatory": {"email"}}, "not among its channels"),
        ({"mandatory": {"push"}}, "Unknown channel"),
    ],
)
def test_bad_channels_are_refused(options, match):
    with pytest.raises(MonitioConfigurationError, match=match):
        monitio.register_kind("bad-channels", label="x", **options)


def test_registering_the_same_kind_again_is_harmless_but_a_different_one_is_refused():
    assert monitio.register_kind(
        "comment", label="Comments <b>&amp;</b>", description="Someone <i>comments</i>.",
        channels={"email", "inbox"},
    ) == COMMENT
    with pytest.raises(MonitioConfigurationError, match="already registered"):
        monitio.register_kind("comment", label="Comments", channels={"inbox"})
    assert kinds.get_kind("comment") == COMMENT


def test_mandatory_true_locks_every_default_channel():
    assert SECURITY.mandatory == {"inbox", "email"}
    assert not SECURITY.switchable("email") and COMMENT.switchable("email")


def test_the_default_kind_is_switchable_for_email_unless_the_site_makes_it_mandatory(settings):
    default = kinds.get_kind(kinds.DEFAULT_KIND)
    assert default.channels == {"inbox", "email"}
    assert default.switchable("email") and not default.switchable("inbox")
    settings.MONITIO = {**settings.MONITIO, "DEFAULT_KIND_MANDATORY": True}
    assert not kinds.get_kind(kinds.DEFAULT_KIND).switchable("email")


def test_all_kinds_lists_the_registered_ones_then_the_default():
    keys = [k.key for k in kinds.all_kinds()]
    assert keys[-1] == kinds.DEFAULT_KIND and {"comment", "security"} <= set(keys)


@pytest.mark.parametrize("kind", ["nope", "COMMENT", 3, b"comment"])
def test_an_unknown_kind_is_refused_by_add_message(alice, kind, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(UnknownKind) as err:
            monitio.add_message(make_request(alice), monitio.INFO, "hi", kind=kind)
    assert isinstance(err.value, InvalidMessage)
    assert callbacks == []


def test_an_unknown_kind_is_refused_by_create_message_and_create_messages(
    alice, bob, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(UnknownKind, match="Unknown message kind 'nope'.*comment"):
            monitio.create_message(alice, monitio.INFO, "hi", kind="nope")
        with pytest.raises(UnknownKind):
            monitio.create_messages([alice, bob], monitio.INFO, "hi", kind="nope")
    assert callbacks == []


def test_an_unknown_kind_is_refused_by_create_message_delay_before_it_is_sent(alice, broker_client):
    with pytest.raises(UnknownKind):
        monitio.create_message.delay(alice.pk, monitio.INFO, "hi", kind="nope")
    assert broker_client.llen("celery") == 0
    monitio.create_message.delay(alice.pk, monitio.INFO, "hi", kind="comment")
    assert broker_client.llen("celery") == 1  # where a sent task would be


def test_the_kind_travels_in_the_payload_and_is_stored(transactional_db, alice, redis_client):
    with_kind = payloads.build(user_id=alice.pk, level=monitio.INFO, message="a", kind="comment")
    without = payloads.build(user_id=alice.pk, level=monitio.INFO, message="b")
    assert (with_kind["kind"], without["kind"]) == ("comment", kinds.DEFAULT_KIND)
    old = {k: v for k, v in payloads.build(user_id=alice.pk, level=monitio.INFO, message="c").items()
           if k != "kind"}  # queued by a version without kinds
    delivery.deliver([with_kind, without, old])
    stored = dict(Message.objects.values_list("message", "kind"))
    assert stored == {"a": "comment", "b": "default", "c": "default"}


def test_a_compacted_payload_keeps_its_kind(alice):
    payload = payloads.build(user_id=alice.pk, level=monitio.INFO, message="a", kind="comment")
    assert payloads.expand(payloads.compact(payload)) == payload
    plain = payloads.build(user_id=alice.pk, level=monitio.INFO, message="a")
    assert "kind" not in payloads.compact(plain)
    assert payloads.expand(payloads.compact(plain)) == plain


def test_add_message_queues_the_kind(alice, bob):
    from monitio.testing import capture_messages

    request = make_request(alice)
    with capture_messages() as outbox:
        message_id = monitio.add_message(request, monitio.INFO, "hi", user=bob, kind="comment")
    [task] = outbox.tasks
    assert [p["kind"] for p in task.args[0]] == ["comment"]
    assert isinstance(message_id, uuid.UUID)


def test_create_message_delay_carries_the_kind(worker, alice, redis_client):
    monitio.create_message.delay(alice.pk, monitio.INFO, "from a job", kind="comment")
    row = wait_until(lambda: Message.objects.filter(user=alice).first())
    assert row.kind == "comment"


def test_create_messages_stores_the_kind_for_every_recipient(worker, alice, bob, redis_client):
    with transaction.atomic():
        monitio.create_messages([alice, bob], monitio.INFO, "to all", kind="security")
    rows = wait_until(lambda: (lambda r: r if len(r) == 2 else None)(list(Message.objects.all())))
    assert {m.kind for m in rows} == {"security"}
