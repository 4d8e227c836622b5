"""The unread counts sent with every live event: the SQL matches the queryset it
replaces, and the partial index ``monitio_unread_count`` answers it alone."""

import datetime

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import monitio
from monitio import delivery, state
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


def test_counts_only_unread_unexpired_persistent_messages_per_user(
    alice, bob, django_user_model
):
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


def plan(sql: str) -> str:
    """The plan of ``sql``; on PostgreSQL, of a table as autovacuum leaves it, and
    with reading the whole table ruled out (it is cheapest for a handful of rows)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            return "\n".join(row[-1] for row in cursor.fetchall())
        cursor.execute(f"VACUUM ANALYZE {Message._meta.db_table}")
        with transaction.atomic():
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}")
            return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db(transaction=True)  # VACUUM runs outside a transaction
@pytest.mark.parametrize(
    "count",
    [lambda user: delivery.unread_counts({user.pk}), state.unread_count],
    ids=["delivery.unread_counts", "state.unread_count"],
)
def test_the_count_reads_only_the_partial_index(alice, count):
    Message.objects.bulk_create(
        Message(user=alice, level=level, message="m", read=read)
        for level, read in [(monitio.INFO, False), (monitio.INFO, True), (20, False)]
    )
    with CaptureQueriesContext(connection) as queries:
        count(alice)
    # (The first count in a process also reads the index's condition: see
    # monitio.partial_index.)
    [query] = [q for q in queries.captured_queries if "COUNT(" in q["sql"]]

    expected = {
        "sqlite": "USING COVERING INDEX monitio_unread_count",
        "postgresql": "Index Only Scan using monitio_unread_count",
    }[connection.vendor]
    assert expected in plan(query["sql"])
