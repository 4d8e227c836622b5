"""Record in Redis the stream values this gateway uses, for Django to compare.

A gateway configured by environment variables alone can disagree with the site
(another secret, cookie name or path) and nothing would say so but 401s. Once it
reaches Redis it writes :func:`monitio.conf.stream_fingerprint` under its key
prefix; ``manage.py check`` (``monitio.W011``) compares what it finds under the
site's prefix with Django's settings.
"""

from __future__ import annotations

import logging

import redis

from monitio.conf import fingerprint_key, stream_fingerprint

from .config import Config

logger = logging.getLogger("sse_gateway")

#: Seconds a record outlives the gateway that wrote it (refreshed at each start).
TTL = 7 * 24 * 3600


def announce(config: Config) -> None:
    """Write this gateway's fingerprint; a Redis error is logged, never raised."""
    key = fingerprint_key(config.key_prefix)
    values = stream_fingerprint(config.stream_secret, config.cookie_name, config.path)
    client = redis.Redis.from_url(config.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        with client.pipeline() as pipe:
            pipe.hset(key, mapping=values).expire(key, TTL).execute()
    except redis.RedisError as exc:
        logger.warning("could not record the configuration in Redis (%s)", type(exc).__name__)
    finally:
        client.close()
