"""The gateway process configured from a settings module alone (issue 17.4):
``python -m sse_gateway --settings`` serves a stream credential Django minted, and
says at start which Redis and prefix it uses, and which variable disagrees."""

from __future__ import annotations

import os
import sys
import time

import httpx
import pytest
import redis
from django.conf import settings

from monitio import wire
from monitio.conf import settings as monitio_settings
from tests import procs

pytestmark = pytest.mark.integration


def test_settings_flag_configures_the_gateway_and_mismatches_are_logged(tmp_path):
    port = procs.free_port()
    log = tmp_path / "gateway.log"
    env = {k: "" for k in os.environ
           if k.startswith("MONITIO_") and not k.startswith("MONITIO_TEST_")}
    env.update(DJANGO_SETTINGS_MODULE="", MONITIO_KEY_PREFIX="not-the-sites")
    proc = procs.start([sys.executable, "-m", "sse_gateway", "--port", str(port),
                        "--settings", "tests.settings"], log, **env)
    try:
        procs.wait_for_port(port, proc=proc)
        deadline = time.monotonic() + 20
        while b"configuration from" not in log.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.1)
        text = log.read_text()
        assert f"configuration from settings tests.settings: Redis {settings.REDIS_URL}" in text
        assert "configuration mismatch: MONITIO_KEY_PREFIX='not-the-sites' overrides the " \
               f"site's KEY_PREFIX ({monitio_settings.KEY_PREFIX!r})" in text
        # The secret came from the settings: a credential Django mints is accepted.
        # (It carries the epoch of the prefix the gateway was told to use.)
        client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
        epoch_key = wire.epoch_key("not-the-sites")
        client.set(epoch_key, "e1", nx=True)
        epoch = client.get(epoch_key)
        token = wire.mint_token(7, wire.session_hash("s"),
                                  secret=monitio_settings.STREAM_SECRET, epoch=epoch)
        with httpx.stream("GET", f"http://127.0.0.1:{port}/sse/", timeout=10,
                          cookies={monitio_settings.STREAM_COOKIE_NAME: token}) as response:
            assert response.status_code == 200
        forged = wire.mint_token(7, wire.session_hash("s"), secret="other",
                                   epoch=epoch)
        answer = httpx.get(f"http://127.0.0.1:{port}/sse/", timeout=10,
                           cookies={monitio_settings.STREAM_COOKIE_NAME: forged})
        assert answer.status_code == 401
    finally:
        procs.stop(proc)
