"""One message spec (issue 17): the options and their defaults are written once, in
:class:`monitio.MessageSpec`, and the task payload it makes is the format already in
queues, outboxes and carry cookies."""

import dataclasses
import inspect
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

import monitio
from monitio import api, payloads
from monitio.exceptions import InvalidMessage, UnknownKind
from monitio_tasks import tasks

pytestmark = pytest.mark.django_db

#: A payload as monitio 1.0 queued it before kinds, groups and params existed.
OLD_PAYLOAD = {
    "id": "0b5f4a64-55f4-4b0a-9a0b-1f7d6b8f2a10",
    "user": 1,
    "from_user": None,
    "level": monitio.INFO,
    "message": "<b>hi</b>",
    "safe": True,
    "subject": "",
    "extra_tags": "",
    "created": "2026-01-01T00:00:00+00:00",
    "expires": None,
    "close_timeout": None,
    "url": None,
    "email": False,
    "sse": True,
    "read": False,
}


def test_the_options_are_the_specs_fields():
    fields = {f.name: f for f in dataclasses.fields(monitio.MessageSpec)}
    assert set(monitio.MessageOptions.__annotations__) <= set(fields)
    # No public function restates an option or its default.
    for function in (api.add_message, api.create_message, api._delay, api.create_messages):
        params = inspect.signature(function).parameters
        assert not set(params) & set(monitio.MessageOptions.__annotations__), function
        assert any(p.kind is p.VAR_KEYWORD for p in params.values())


def test_a_spec_round_trips_through_its_payload():
    spec = monitio.MessageSpec(
        user_id=1, level=monitio.WARNING, message=mark_safe("<i>x</i>"), subject="s",
        expires=timezone.now() + timedelta(days=1), close_timeout=5, url="/a/",
        group_key="g", email=True, sse=False,
    )
    payload = spec.to_payload()
    assert payload["safe"] is True
    again = monitio.MessageSpec.from_payload(payload)
    assert again == spec
    assert isinstance(again.message, SafeString)
    assert again.to_payload() == payload


def test_an_old_payload_is_still_read_and_compacts_the_same():
    spec = monitio.MessageSpec.from_payload(OLD_PAYLOAD)
    assert (spec.kind, spec.group_key, spec.params, spec.safe) == ("default", None, None, True)
    full = payloads.expand(payloads.compact(OLD_PAYLOAD))
    assert full == {**OLD_PAYLOAD, "kind": "default", "group_key": None, "params": None}
    payloads.check_payload(OLD_PAYLOAD)


def test_a_payload_keeps_a_kind_this_process_does_not_know():
    """The worker stores it as the default kind (tests/kinds), it does not reject it."""
    spec = monitio.MessageSpec.from_payload({**OLD_PAYLOAD, "kind": "not-here"})
    assert spec.kind == "not-here"
    with pytest.raises(UnknownKind):
        monitio.MessageSpec(user_id=1, level=monitio.INFO, message="x", kind="not-here")


@pytest.mark.parametrize("broken", [{"id": "nope"}, {"created": 3}, {"level": "x"}, {"user": None}])
def test_a_broken_payload_is_refused(broken):
    with pytest.raises(InvalidMessage):
        payloads.check_payload({**OLD_PAYLOAD, **broken})


def test_an_unknown_option_is_a_type_error_everywhere():
    with pytest.raises(TypeError):
        monitio.create_message(1, monitio.INFO, "x", subjet="typo")
    with pytest.raises(TypeError):
        tasks.task_payload(uuid.uuid4(), 1, monitio.INFO, "x", None, "", None, {"subjet": "t"})
