"""A site's worth of users for the pipeline benchmarks: rows, logged-in sessions and
stream subscriptions through the gateway."""

from __future__ import annotations

import time

from bench import harness
from bench.loadclient import sse_request


def make_users(n: int, prefix: str = "u") -> list[int]:
    """Create ``n`` users (one bulk insert); return their primary keys."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    User.objects.bulk_create(
        [User(username=f"{prefix}{i}", password="!") for i in range(n)], batch_size=2000
    )
    return list(
        User.objects.filter(username__startswith=prefix)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def make_sessions(user_ids: list[int]) -> dict[int, str]:
    """Log each user in (a database session, as ``login()`` leaves it); return the
    session keys."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    keys = {}
    for user in get_user_model().objects.filter(pk__in=user_ids):
        session = SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        keys[user.pk] = session.session_key
    return keys


def stream_specs(
    port: int, user_ids: list[int], sessions: dict[int, str] | None = None
) -> list[tuple[int, bytes]]:
    """One gateway stream per user, with the token ``monitio.stream`` would mint."""
    from monitio.stream import current_epoch
    from monitio.wire import mint_token, session_hash

    now, epoch = time.time(), current_epoch()
    specs = []
    for uid in user_ids:
        session = session_hash((sessions or {}).get(uid))
        token = mint_token(uid, session, secret=harness.SECRET, epoch=epoch, now=now)
        specs.append((port, sse_request(port, "/sse/", f"monitio_stream={token}")))
    return specs


def database() -> str:
    """The database the benchmark runs on, for its JSON record."""
    from django.db import connection

    return "sqlite (WAL)" if connection.vendor == "sqlite" else connection.vendor


def make_preferences(user_ids: list[int], kind: str) -> int:
    """Give every other user of ``user_ids`` one stored choice for ``kind``, its e-mail
    off: half the recipients have a row the worker reads. Return how many rows."""
    from monitio.models import Preference

    rows = [Preference(user_id=uid, kind=kind, channel="email", enabled=False)
            for uid in user_ids[::2]]
    Preference.objects.bulk_create(rows)
    return len(rows)
