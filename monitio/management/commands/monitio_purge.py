from django.core.management.base import BaseCommand, CommandError

from monitio.purge import purge


class Command(BaseCommand):
    help = "Delete expired messages, and with --read-older-than, old read ones, in batches."

    def add_arguments(self, parser):
        parser.add_argument(
            "--read-older-than", type=int, metavar="DAYS", dest="days",
            help="also delete read messages created more than DAYS days ago",
        )
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, days=None, batch_size=1000, **options):
        if days is not None and days < 0:
            raise CommandError("--read-older-than must be zero or more days.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        deleted = purge(read_older_than_days=days, batch_size=batch_size)
        self.stdout.write(f"Deleted {deleted} message(s).")
