"""The unread counts sent with every live event: the SQL matches the queryset it replaces."""

import datetime

from django.db.models import Count
from django.utils import timezone

import monitio
from monitio import delivery
from monitio.models import Message


def by_queryset(user_ids) -> dict:
    rows = (
        Message.objects.filter(user_id__in=user_ids)
        .unexpired()
        .persistent()
        .unread()
        .values("user_id")
        .annotate(n=Count("pk"))
        .values_list("user_id", "n")
    )
    return dict(rows)


def test_counts_only_unread_unexpired_persistent_messages_per_user(alice, bob, django_user_model):
    carol = django_user_model.objects.create_user("carol")
    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    rows = [
        (alice, monitio.INFO, False, None),
        (alice, monitio.ERROR, False, now + hour),
        (alice, monitio.WARNING, True, None),  # read
        (alice, monitio.SUCCESS, False, now - hour),  # expired
        (alice, 20, False, None),  # a plain Django level
        (bob, monitio.WARNING, False, None),
        (carol, monitio.INFO, True, None),  # carol has nothing unread
    ]
    Message.objects.bulk_create(
        Message(user=user, level=level, message="m", read=read, expires=expires)
        for user, level, read, expires in rows
    )
    ids = {alice.pk, bob.pk, carol.pk}

    assert delivery.unread_counts(ids) == {alice.pk: 2, bob.pk: 1}
    assert delivery.unread_counts(ids) == by_queryset(ids)
    assert delivery.unread_counts({bob.pk}) == {bob.pk: 1}
    assert delivery.unread_counts(set()) == {}


def test_ids_come_back_as_the_caller_gave_them(alice):
    Message.objects.create(user=alice, level=monitio.INFO, message="m")

    assert delivery.unread_counts({str(alice.pk)}) == {str(alice.pk): 1}
