"""A private ``redis-server`` on a free port that a test may crash and restart."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import redis

from tests import procs


class RedisServer:
    """With ``durable``, every write is fsynced to an append-only file (what a
    production Redis holding monitio's history should run with), so a crash loses
    nothing; without it, a restart comes back empty."""

    def __init__(self, workdir: Path, *, durable: bool) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = procs.free_port()
        self.durable = durable
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> float:
        """Start the server; return the time (monotonic) it answers PING."""
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self.durable
            else ["--appendonly", "no"]
        )
        self.proc = procs.start(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(self.dir),
                *persistence,
            ],
            self.dir / "redis.log",
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    client.close()
                    return time.monotonic()
            except redis.RedisError:
                pass
            assert time.monotonic() < deadline and self.proc.poll() is None, "no redis"
            time.sleep(0.01)

    def crash(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc, signal.SIGKILL)

    def admin(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)
