"""``manage.py send_message <from_user> <to_user> <LEVEL> <message...>``."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from monitio.models import Message


@pytest.mark.parametrize(
    "args,error",
    [
        (["nobody", "bob", "INFO", "hi"], "No user named 'nobody'."),
        (["alice", "nobody", "INFO", "hi"], "No user named 'nobody'."),
        (
            ["alice", "bob", "LOUD", "hi"],
            "Unknown level 'LOUD'; use one of DEBUG, INFO, SUCCESS, WARNING, ERROR.",
        ),
    ],
)
def test_unknown_user_or_level_is_a_clear_error(alice, bob, args, error):
    with pytest.raises(CommandError) as caught:
        call_command("send_message", *args)
    assert str(caught.value) == error
    assert not Message.objects.exists()


def test_message_words_are_required(alice, bob):
    with pytest.raises(CommandError, match="message"):
        call_command("send_message", "alice", "bob", "INFO")


def test_too_long_message_is_a_command_error(alice, bob, settings):
    settings.MONITIO = settings.MONITIO | {"MAX_MESSAGE_LENGTH": 5}
    with pytest.raises(CommandError):
        call_command("send_message", "alice", "bob", "INFO", "far too long")
