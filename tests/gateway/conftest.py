"""Fixtures for the gateway tests: real ``gunicorn -k sse_gateway.worker.StreamWorker`` gateway
processes.

Every test here talks HTTP to a gateway subprocess and publishes through
``monitio.publish`` into the real Redis (``MONITIO_TEST_REDIS_URL``). Heavier variants
of some tests run when ``MONITIO_GATEWAY_HEAVY=1`` (more clients, more messages).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from monitio import wire
from monitio.stream import current_epoch
from monitio.conf import settings as monitio_settings
from tests import procs
from tests.faults.redisserver import RedisServer

from .sseclient import Stream

HEAVY = os.environ.get("MONITIO_GATEWAY_HEAVY") == "1"
SECRET = "stream-secret-for-tests"
PREFIX = "monitio-test"


def gateway_env(redis_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {
        # Proves the gateway needs no Django settings: touching them would raise.
        "DJANGO_SETTINGS_MODULE": "",
        "MONITIO_STREAM_SECRET": SECRET,
        "MONITIO_KEY_PREFIX": PREFIX,
        "MONITIO_REDIS_URL": redis_url or settings.REDIS_URL,
    }
    env.update(extra)
    return env


class GatewayProcess:
    """``gunicorn -k sse_gateway.worker.StreamWorker sse_gateway.wsgi:application`` on
    a free port."""

    def __init__(
        self,
        log: Path,
        port: int | None = None,
        args: tuple[str, ...] = (),
        prefix: tuple[str, ...] = (),
        **env: str,
    ) -> None:
        self.port = port or procs.free_port()
        self.log = log
        self.args = args
        self.prefix = prefix
        self.env = gateway_env(**env)
        self.proc: subprocess.Popen | None = None

    def start(self, wait_ready: bool = True) -> GatewayProcess:
        self.proc = procs.start(
            [
                *self.prefix,
                str(procs.VENV_BIN / "gunicorn"),
                "-k",
                "sse_gateway.worker.StreamWorker",
                "-w",
                "1",
                "-b",
                f"127.0.0.1:{self.port}",
                "--no-control-socket",
                "--graceful-timeout",
                "10",
                "--worker-connections",
                "3000",
                *self.args,
                "sse_gateway.wsgi:application",
            ],
            self.log,
            **self.env,
        )
        procs.wait_for_port(self.port, proc=self.proc)
        if not wait_ready:
            return self
        # The first request starts the fan-out reader; make it now.
        deadline = time.monotonic() + 10
        while not self._ready():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise TimeoutError(self.log.read_text()[-2000:])
            time.sleep(0.05)
        return self

    def _ready(self) -> bool:
        try:
            return self.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            procs.stop(self.proc, sig)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **kwargs) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kwargs)

    def metric(self, name: str) -> float:
        for line in self.get("/metrics").text.splitlines():
            if line.startswith(f"monitio_gateway_{name}{{"):
                return float(line.rsplit(" ", 1)[1])
        raise KeyError(name)

    def stream(
        self,
        user_id=None,
        *,
        token: str | None = None,
        query: str = "",
        headers: dict[str, str] | None = None,
        **kw,
    ) -> Stream:
        """Open a stream; with ``user_id``, carrying a fresh valid token for it."""
        if token is None and user_id is not None:
            token = mint(user_id)
        cookie = f"monitio_stream={token}" if token is not None else None
        path = "/sse/" + (f"?{query}" if query else "")
        return Stream(self.port, path, cookie=cookie, headers=headers, **kw)


def mint(user_id, session: str = "session-a", now: float | None = None) -> str:
    """A token for ``user_id`` in the current epoch of monitio's Redis."""
    return wire.mint_token(
        user_id, session, secret=SECRET, epoch=current_epoch(), now=now
    )


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    # Once the (session-wide) browser of test_browser.py has started, Playwright's
    # sync API keeps an event loop running in this thread, and Django would take
    # every later ORM call for one made from async code. They are ordinary
    # synchronous calls all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def redis_db(redis_client):
    """The events Redis, emptied; monitio's settings pointed at the test prefix."""
    assert monitio_settings.KEY_PREFIX == PREFIX
    return redis_client


@pytest.fixture
def start_gateway(tmp_path) -> Iterator:
    """Start gateways with extra env; all are stopped after the test."""
    started: list[GatewayProcess] = []

    def start(
        *,
        args: tuple[str, ...] = (),
        prefix: tuple[str, ...] = (),
        wait_ready: bool = True,
        **env: str,
    ):
        """``prefix`` goes before the command (``prlimit --nofile=...``)."""
        gw = GatewayProcess(
            tmp_path / f"gateway-{len(started)}.log", args=args, prefix=prefix, **env
        )
        started.append(gw)
        return gw.start(wait_ready)

    yield start
    for gw in started:
        gw.stop(signal.SIGKILL)


@pytest.fixture
def gateway(start_gateway, redis_db) -> GatewayProcess:
    return start_gateway(MONITIO_HEARTBEAT_SECONDS="1")


@pytest.fixture
def streams() -> Iterator[list[Stream]]:
    """Streams to close after the test."""
    opened: list[Stream] = []
    yield opened
    for s in opened:
        s.close()


@pytest.fixture
def own_redis(tmp_path, settings) -> Iterator[RedisServer]:
    """A private Redis, with monitio's publisher pointed at it for this test."""
    from monitio import publish

    server = RedisServer(tmp_path / "redis", durable=False)
    server.start()
    settings.MONITIO = {**settings.MONITIO, "REDIS_URL": server.url}
    publish.reset_client()
    yield server
    server.crash()
    publish.reset_client()
