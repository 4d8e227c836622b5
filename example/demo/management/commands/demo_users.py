"""``manage.py demo_users``: create (or reset) the demo users alice, bob and carol."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

USERNAMES = ("alice", "bob", "carol")
PASSWORD = "monitio-demo"


class Command(BaseCommand):
    help = (
        f"Create the demo users {', '.join(USERNAMES)} with the password {PASSWORD!r}. "
        "Running it again resets their passwords."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=PASSWORD)

    def handle(self, *args, password: str, **options) -> None:
        model = get_user_model()
        for name in USERNAMES:
            user, created = model.objects.get_or_create(
                username=name, defaults={"email": f"{name}@example.com"}
            )
            if created or not user.check_password(password):
                user.set_password(password)
                user.save()
            self.stdout.write(f"{'created' if created else 'exists '} {name}")
        self.stdout.write(f"Password for all of them: {password}")
