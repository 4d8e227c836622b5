"""Fixtures of the fault suite: gateways, private Redis servers and nginx.

The gateway and Redis helpers are the gateway suite's (``tests/gateway/conftest.py``),
imported so both suites start processes the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.conftest import (  # noqa: F401 - fixtures used by this suite
    own_redis,
    redis_db,
    start_gateway,
    streams,
)

from .multireader import raise_fd_limit
from .nginx import Nginx

#: The streams these tests open (and the gateways they start) need many descriptors.
FD_LIMIT = raise_fd_limit()

#: Set to 1 to run the slow variants (10 minutes idle behind nginx, etc.).


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
