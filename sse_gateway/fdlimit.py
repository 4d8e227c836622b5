"""Fit the stream cap to the file descriptors the process may open, as Redis fits
``maxclients`` to ``ulimit -n``.

Every open stream holds a socket. At start the gateway raises its soft limit on open
files to the hard limit (what an unprivileged ``ulimit -n`` may do). When that is
still too low for ``MONITIO_MAX_CONNECTIONS`` plus what the process needs for itself,
the cap is lowered to what fits and a warning says so: one stream more is then
answered ``503`` with ``Retry-After``, rather than ``accept()`` failing with ``EMFILE``
and connections waiting unanswered in the listen backlog.
"""

from __future__ import annotations

import dataclasses
import logging
import resource

from .config import Config

logger = logging.getLogger("sse_gateway")

#: Descriptors kept for the process itself: about a dozen at rest (listening socket,
#: epoll, pipes, logs), the rest for a burst of connections answered 503 at once
#: while at the cap. (A larger burst makes gevent pause ``accept()`` for a few
#: milliseconds: the connections wait in the listen backlog, then get their 503.)
RESERVED = 256


def raise_soft_limit() -> int:
    """Raise the soft limit on open files to the hard one; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # e.g. above a macOS kernel maximum
            return soft
        return hard
    return soft


def reserved(limit: int) -> int:
    """Descriptors kept back from streams: :data:`RESERVED`, or a quarter of a small limit."""
    return min(RESERVED, limit // 4)


def fit(config: Config) -> Config:
    """``config`` with ``max_connections`` lowered to what the limit allows, if needed."""
    limit = raise_soft_limit()
    if limit == resource.RLIM_INFINITY:
        return config
    # The shared Redis pool, the fan-out reader's own connection, the reserve.
    other = config.redis_pool_size + 1 + reserved(limit)
    if config.max_connections + other <= limit:
        return config
    capacity = max(1, limit - other)
    logger.warning(
        "MONITIO_MAX_CONNECTIONS=%d needs %d open files, but this process may open %d: "
        "streams are capped at %d. Raise the limit (ulimit -n, systemd LimitNOFILE).",
        config.max_connections,
        config.max_connections + other,
        limit,
        capacity,
    )
    return dataclasses.replace(config, max_connections=capacity)
