"""The environment every benchmark runs in: a raised file-descriptor limit, a Redis
server of its own, Django configured with ``bench.settings`` on a fresh SQLite file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

from bench import harness


@dataclass
class Environment:
    redis_url: str

    def flush_events(self) -> None:
        """Empty the events database (this benchmark's own Redis server only)."""
        import redis

        from monitio import publish

        client = redis.Redis.from_url(f"{self.redis_url}/0")
        client.flushdb()
        client.close()
        publish.reset_client()


@contextlib.contextmanager
def environment(database: bool = False) -> Iterator[Environment]:
    """Start Redis (and migrate a fresh database when ``database``); stop on exit."""
    harness.raise_fd_limit()
    harness.stop_on_signals()
    harness.RUN.mkdir(exist_ok=True)
    with harness.redis_server() as redis_svc:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
        import django

        django.setup()
        if database:
            _fresh_database()
        yield Environment(redis_svc.url)


def _fresh_database() -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    conf = settings.DATABASES["default"]
    if conf["ENGINE"].endswith("sqlite3"):
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(conf["NAME"] + suffix)
    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)
