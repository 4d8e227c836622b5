"""Bad input fails early and clearly in the caller; nothing is queued for it."""

import datetime
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import constants as django_levels
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory, override_settings
from django.utils import timezone

import monitio
from monitio import constants
from monitio.exceptions import (
    AnonymousRecipient,
    InvalidMessage,
    MessageTooLarge,
    MonitioError,
    UnknownLevel,
)
from monitio.storage import PersistentMessageStorage


def make_request(user):
    request = RequestFactory().get("/")
    request.user = user
    request.session = {}
    request._messages = PersistentMessageStorage(request)
    return request


def test_levels_are_exported_at_package_and_constants():
    assert (monitio.DEBUG, monitio.INFO, monitio.SUCCESS, monitio.WARNING, monitio.ERROR) == (
        110, 120, 125, 130, 140,
    )
    assert constants.INFO is monitio.INFO
    assert monitio.PERSISTENT_MESSAGE_LEVELS == (120, 125, 130, 140)


@override_settings(MESSAGE_TAGS={})
def test_level_tags_are_monitios_over_djangos(db):
    """A site without MESSAGE_TAGS: monitio's rows are tagged all the same."""
    from monitio.models import level_tags

    tags = level_tags()
    assert tags[monitio.INFO] == "info" and tags[monitio.WARNING] == "warning"
    assert tags[django_levels.INFO] == "info"


@pytest.mark.parametrize("level", [7, 999, "120", 120.0, None, True])
def test_unknown_level_is_refused(alice, level):
    with pytest.raises(UnknownLevel):
        monitio.add_message(make_request(alice), level, "hi")


@override_settings(MESSAGE_TAGS={77: "custom"})
def test_level_named_in_message_tags_is_known(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        assert isinstance(monitio.add_message(make_request(alice), 77, "hi", user=alice, email=True), uuid.UUID)


@pytest.mark.parametrize("message", [b"bytes", 12, ["list"], object()])
def test_non_str_message_is_refused(alice, message):
    with pytest.raises(InvalidMessage):
        monitio.add_message(make_request(alice), monitio.INFO, message)


def test_oversized_message_and_subject_are_refused(alice):
    request = make_request(alice)
    with pytest.raises(MessageTooLarge, match="MAX_MESSAGE_LENGTH"):
        monitio.add_message(request, monitio.INFO, "x" * 10_001)
    with pytest.raises(MessageTooLarge, match="MAX_SUBJECT_LENGTH"):
        monitio.add_message(request, monitio.INFO, "ok", subject="s" * 256)
    assert monitio.add_message(request, monitio.INFO, "x" * 10_000)


def test_naive_expires_is_refused(alice):
    with pytest.raises(InvalidMessage, match="timezone-aware"):
        monitio.add_message(make_request(alice), monitio.INFO, "hi", expires=datetime.datetime(2030, 1, 1))


@pytest.mark.parametrize("close_timeout", [-1, "10", 1.5])
def test_bad_close_timeout_is_refused(alice, close_timeout):
    with pytest.raises(InvalidMessage):
        monitio.add_message(make_request(alice), monitio.INFO, "hi", close_timeout=close_timeout)


def test_persistent_level_for_anonymous_user_is_a_clear_error():
    request = make_request(AnonymousUser())
    with pytest.raises(AnonymousRecipient, match="anonymous"):
        monitio.add_message(request, monitio.WARNING, "hi")
    with pytest.raises(NotImplementedError):  # what the original raised
        monitio.add_message(request, monitio.WARNING, "hi")
    assert monitio.add_message(request, monitio.WARNING, "hi", fail_silently=True) is None
    assert list(request._messages) == []


def test_django_api_with_persistent_level_for_anonymous_raises_too():
    """Django's add_message has no hook for a storage to refuse a message, so the
    error comes when the response stores it (Django's storage contract); one the
    page shows in the same request never reaches the storage again: shown once."""
    from django.contrib import messages
    from django.http import HttpResponse

    request = make_request(AnonymousUser())
    messages.add_message(request, monitio.ERROR, "hi")
    with pytest.raises(AnonymousRecipient, match="anonymous"):
        request._messages.update(HttpResponse())
    request = make_request(AnonymousUser())
    messages.add_message(request, monitio.ERROR, "hi")
    assert [m.message for m in request._messages] == ["hi"]
    response = HttpResponse()
    request._messages.update(response)
    assert "messages" not in response.cookies


def test_create_message_requires_a_real_recipient(db):
    with pytest.raises(InvalidMessage, match="recipient"):
        monitio.create_message(None, monitio.INFO, "hi")
    with pytest.raises(AnonymousRecipient):
        monitio.create_message(AnonymousUser(), monitio.INFO, "hi")
    with pytest.raises(InvalidMessage):
        monitio.create_message(3.5, monitio.INFO, "hi")


def test_without_monitio_storage_add_message_fails_unless_silent(alice):
    request = RequestFactory().get("/")
    request.user = alice
    with pytest.raises(monitio.MessageFailure):
        monitio.add_message(request, monitio.INFO, "hi")
    assert monitio.add_message(request, monitio.INFO, "hi", fail_silently=True) is None
    request.session = {}
    request._messages = FallbackStorage(request)
    with pytest.raises(monitio.MessageFailure, match="MESSAGE_STORAGE"):
        monitio.add_message(request, monitio.INFO, "hi")


def test_every_error_is_a_monitio_error():
    for exc in (UnknownLevel, MessageTooLarge, AnonymousRecipient, InvalidMessage):
        assert issubclass(exc, MonitioError) and issubclass(exc, ValueError)


def test_shortcuts_use_their_level(alice, django_capture_on_commit_callbacks):
    request = make_request(alice)
    with django_capture_on_commit_callbacks(execute=True):
        for name, level in [("info", 120), ("success", 125), ("warning", 130), ("error", 140)]:
            getattr(monitio, name)(request, f"{name} text")
    levels = [m.level for m in request._messages]
    assert levels == [120, 125, 130, 140]
    assert monitio.debug.__doc__ == "Add a message with the ``DEBUG`` level."


def test_add_message_returns_uuid_for_stored_and_none_for_plain(alice, bob, django_capture_on_commit_callbacks):
    request = make_request(alice)
    with django_capture_on_commit_callbacks():
        assert isinstance(monitio.add_message(request, monitio.INFO, "stored"), uuid.UUID)
        assert monitio.add_message(request, django_levels.INFO, "plain") is None
        assert isinstance(monitio.add_message(request, django_levels.INFO, "to bob", user=bob), uuid.UUID)
        assert monitio.add_message(request, monitio.INFO, "") is None


def test_expires_must_be_datetime(alice):
    with pytest.raises(InvalidMessage):
        monitio.add_message(make_request(alice), monitio.INFO, "hi", expires="tomorrow")
    assert monitio.add_message(make_request(alice), monitio.INFO, "hi", expires=timezone.now())


def test_nul_character_is_refused(alice):
    with pytest.raises(InvalidMessage, match="NUL"):
        monitio.add_message(make_request(alice), monitio.INFO, "a\x00b")
    with pytest.raises(InvalidMessage, match="NUL"):
        monitio.add_message(make_request(alice), monitio.INFO, "ok", subject="\x00")
