"""``manage.py send_message <from_user> <to_user> <LEVEL> <message...>``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

import monitio
from monitio.constants import DEFAULT_LEVELS
from monitio.exceptions import InvalidMessage


class Command(BaseCommand):
    help = (
        "Send a message from one user to another, by username. LEVEL is one of "
        + ", ".join(DEFAULT_LEVELS)
        + ". The message is queued; a Celery worker stores and delivers it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("from_user", help="username of the sender")
        parser.add_argument("to_user", help="username of the recipient")
        parser.add_argument("level", help="level name: " + ", ".join(DEFAULT_LEVELS))
        parser.add_argument(
            "message", nargs="+", help="the text; words are joined by spaces"
        )

    def handle(self, *args, **options) -> None:
        level_name = options["level"].upper()
        if level_name not in DEFAULT_LEVELS:
            raise CommandError(
                f"Unknown level {options['level']!r}; "
                f"use one of {', '.join(DEFAULT_LEVELS)}."
            )
        sender = self._user(options["from_user"])
        recipient = self._user(options["to_user"])
        try:
            message_id = monitio.create_message(
                recipient,
                DEFAULT_LEVELS[level_name],
                " ".join(options["message"]),
                from_user=sender,
                subject=f"{level_name} message",
                sse=True,
            )
        except InvalidMessage as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Queued message {message_id} for {recipient.get_username()}."
        )

    @staticmethod
    def _user(username: str):
        model = get_user_model()
        try:
            return model._default_manager.get_by_natural_key(username)
        except model.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
