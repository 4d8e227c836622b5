from django.core.management.base import BaseCommand

from monitio.outbox import drain


class Command(BaseCommand):
    help = "Send the tasks that requests kept in the outbox while the broker was down."

    def handle(self, *args, **options):
        self.stdout.write(f"Sent {drain()} task(s).")
