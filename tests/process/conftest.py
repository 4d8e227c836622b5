"""Fixtures of the process tier: everything here starts real processes (a ``celery
worker``, gateways, private Redis servers, nginx, Chromium), so every test under
``tests/process/`` is in that tier and no test under ``tests/fast/`` can use them.

Process helpers: ``tests/gateways.py`` (gateways), ``tests/process/faults/``
(Redis servers, nginx, stream readers) and ``tests/process/browser/harness.py``
(the example project's processes, Chromium's launch options).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from monitio.conf import settings as monitio_settings
from tests import procs
from tests.gateways import PREFIX, GatewayProcess
from tests.process.browser.harness import LAUNCH, PASSWORD, Stack, running_example
from tests.process.faults.multireader import raise_fd_limit
from tests.process.faults.nginx import Nginx
from tests.process.faults.redisserver import RedisServer
from tests.sseclient import Stream

#: The streams these tests open (and the gateways they start) need many descriptors.
FD_LIMIT = raise_fd_limit()


@pytest.fixture
def worker_process(transactional_db, redis_client, broker_client, tmp_path):
    """A real ``celery worker`` subprocess (prefork), sharing the test database."""
    proc = procs.celery_worker(tmp_path / "worker.log")
    yield proc
    procs.stop(proc)


@pytest.fixture
def start_gateway(tmp_path) -> Iterator:
    """Start gateways with extra env; all are stopped after the test."""
    assert monitio_settings.KEY_PREFIX == PREFIX  # the prefix the gateways are given
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
def gateway(start_gateway, redis_client) -> GatewayProcess:
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


@pytest.fixture
def start_nginx(tmp_path) -> Iterator:
    """Start private nginx processes in front of gateway ports; stop them after."""
    started: list[Nginx] = []

    def start(upstream: int, **overrides: str) -> Nginx:
        proxy = Nginx(tmp_path / f"nginx-{len(started)}", upstream, overrides)
        started.append(proxy)
        return proxy.start()

    yield start
    for proxy in started:
        proxy.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium (``harness.LAUNCH``), one per test module."""
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # While it is open, Playwright's sync API keeps an event loop running in this
        # thread, and Django would take every ORM call for one made from async code.
        # They are ordinary synchronous calls all the same.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(**LAUNCH)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """The example project's processes (``harness.running_example``), shared by the
    tests of one module. Never longer: two stacks at once share the test broker, and
    one's worker would take the other's tasks."""
    with running_example(tmp_path_factory.mktemp("example")) as stack:
        yield stack


@pytest.fixture
def login(stack, chromium):
    """Open a fresh browser context on ``stack`` logged in as ``username``; return
    its page."""
    contexts = []

    def open_as(username: str, **context_options):
        context = chromium.new_context(**context_options)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{stack.url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(f"{stack.url}/")
        return page

    yield open_as
    for context in contexts:
        context.close()
