"""The environment every benchmark runs in: a raised file-descriptor limit, a Redis
server of its own, Django configured with ``bench.settings`` on a fresh SQLite file."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench import harness
from sse_gateway import fdlimit

POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


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
    fdlimit.raise_soft_limit()  # for this process and its children
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


@contextlib.contextmanager
def scratch_database(kind: str, tag: str) -> Iterator[dict[str, str] | None]:
    """Environment variables pointing ``bench.settings`` at a database named ``tag``
    of the run's own, ``"sqlite"`` or ``"postgresql"`` (at ``BENCH_POSTGRES_URL``;
    ``None`` when that cannot be reached); it is removed afterwards."""
    if kind == "sqlite":
        path = os.path.join(tempfile.gettempdir(), f"{tag}.sqlite3")
        try:
            yield {"BENCH_SQLITE": path, "BENCH_DATABASE_URL": ""}
        finally:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path + suffix)
        return
    import psycopg

    server = urlsplit(POSTGRES_URL)
    admin = urlunsplit(server._replace(scheme="postgresql"))
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{tag}"')
    except psycopg.Error as exc:
        print(
            f"PostgreSQL at {server.hostname}:{server.port} not usable ({exc}); skipped."
        )
        yield None
        return
    try:
        yield {"BENCH_DATABASE_URL": urlunsplit(server._replace(path=f"/{tag}"))}
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{tag}" WITH (FORCE)')


def measure_in_child(
    module: str, env: dict[str, str], args: list[str]
) -> dict[str, Any]:
    """Run ``python -m module --child-out FILE *args`` with ``env`` added to the
    environment (settings are read once per process); return the JSON it wrote."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [sys.executable, "-m", module, "--child-out", out.name, *args],
            check=True,
            env={**os.environ, **env},
        )
        return json.loads(open(out.name).read())


def on_databases(
    module: str, kinds: list[str], args: list[str]
) -> dict[str, dict[str, Any]]:
    """:func:`measure_in_child` once per database kind, each on a scratch database;
    the kinds that cannot be reached are left out (exits when none can). A missing
    driver is not an unreachable server: it fails at once, before any measurement."""
    if "postgresql" in kinds:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            sys.exit(
                f"PostgreSQL cannot be measured: {exc} (install the bench extra: "
                "pip install -e '.[bench]')"
            )
    by_database = {}
    for kind in kinds:
        tag = f"monitio_{module.rpartition('.')[2]}_{os.getpid()}"
        with scratch_database(kind, tag) as env:
            if env is not None:
                by_database[kind] = measure_in_child(module, env, args)
    if not by_database:
        sys.exit("no database to measure on")
    return by_database
