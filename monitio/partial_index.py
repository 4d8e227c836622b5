"""The condition of a partial index, as the database has it, for hand-written SQL.

SQLite uses a partial index only when the query repeats the index's condition term
for term, and Django writes a condition such as ``Q(read=False)`` differently across
releases (``NOT "read"`` in 5.2, ``"read" = 0`` in 6.1). The few statements monitio
writes as SQL (:mod:`monitio.delivery`'s unread counts, :mod:`monitio.grouping`'s
merge) take the condition from the index the migration created instead
(tests/fast/core/test_unread_counts.py checks the plan on each release).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper


def condition(connection: BaseDatabaseWrapper, name: str) -> str | None:
    """The ``WHERE`` of partial index ``name`` as SQLite stores it, or ``None``.

    PostgreSQL proves either form of a condition, so it gets ``None``: the caller
    writes its own.
    """
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
        row = cursor.fetchone()
    if row is None or " WHERE " not in (row[0] or ""):
        return None
    return f"({row[0].split(' WHERE ', 1)[1]})"
