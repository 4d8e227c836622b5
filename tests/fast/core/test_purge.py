import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

import monitio
from monitio.models import Message


def test_purge_deletes_expired_and_old_read_in_batches(alice, capsys):
    now = timezone.now()
    rows = [Message(user=alice, level=monitio.INFO, message=f"e{i}", expires=now - datetime.timedelta(seconds=1)) for i in range(25)]
    rows += [Message(user=alice, level=monitio.INFO, message="old read", read=True, created=now - datetime.timedelta(days=40))]
    rows += [Message(user=alice, level=monitio.INFO, message="new read", read=True)]
    rows += [Message(user=alice, level=monitio.INFO, message="unread", expires=now + datetime.timedelta(days=1))]
    Message.objects.bulk_create(rows)
    call_command("monitio_purge", batch_size=10)
    assert "Deleted 25 message(s)." in capsys.readouterr().out
    assert Message.objects.count() == 3
    call_command("monitio_purge", days=30)
    assert sorted(Message.objects.values_list("message", flat=True)) == ["new read", "unread"]


def test_purge_rejects_bad_arguments(db):
    with pytest.raises(CommandError):
        call_command("monitio_purge", days=-1)
    with pytest.raises(CommandError):
        call_command("monitio_purge", batch_size=0)
