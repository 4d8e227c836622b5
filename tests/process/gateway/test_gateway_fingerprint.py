"""A running gateway that disagrees with the site is reported by ``manage.py check``
(monitio.W011) once it has recorded its values in Redis."""

from __future__ import annotations

import sys

import httpx

from monitio.conf import fingerprint_key
from monitio.conf import settings as monitio_settings
from tests import procs
from tests.fast.devexp.test_gateway_fingerprint import w011


def test_a_running_gateway_with_another_secret_is_reported(redis_client, tmp_path):
    port = procs.free_port()
    env = {"DJANGO_SETTINGS_MODULE": "", "MONITIO_STREAM_SECRET": "not-the-sites",
           "MONITIO_REDIS_URL": monitio_settings.REDIS_URL,
           "MONITIO_KEY_PREFIX": monitio_settings.KEY_PREFIX}
    proc = procs.start([sys.executable, "-m", "sse_gateway", "--port", str(port)],
                       tmp_path / "gateway.log", **env)
    try:
        procs.wait_for_port(port, proc=proc)
        assert w011() == []  # nothing recorded before the gateway reaches Redis
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
        [warning] = w011()
        assert "stream secret" in warning.msg
    finally:
        procs.stop(proc)
        redis_client.delete(fingerprint_key(monitio_settings.KEY_PREFIX))
