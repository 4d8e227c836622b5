"""The gateway's environment configuration and its small pure parts."""

from __future__ import annotations

import pytest

from sse_gateway.auth import cookie_value
from sse_gateway.config import Config, ConfigurationError
from sse_gateway.http import origin_verdict


def test_defaults_are_documented_values():
    config = Config.from_env({"MONITIO_STREAM_SECRET": "s"})
    assert (config.heartbeat_seconds, config.path, config.cookie_name) == (
        15,
        "/sse/",
        "monitio_stream",
    )
    assert (
        config.max_connections,
        config.max_streams_per_user,
        config.client_queue_size,
        config.token_max_age,
    ) == (10_000, 10, 256, 300)
    assert config.allowed_origins == frozenset()


def test_missing_secret_names_the_variable():
    with pytest.raises(ConfigurationError, match="MONITIO_STREAM_SECRET"):
        Config.from_env({})


@pytest.mark.parametrize(
    "name, value",
    [
        ("MONITIO_HEARTBEAT_SECONDS", "soon"),
        ("MONITIO_MAX_CONNECTIONS", "0"),
        ("MONITIO_MAX_CONNECTIONS", "1.5"),
        ("MONITIO_GATEWAY_PATH", "sse/"),
    ],
)
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(ConfigurationError, match=name):
        Config.from_env({"MONITIO_STREAM_SECRET": "s", name: value})


def test_origins_are_normalised():
    config = Config.from_env(
        {
            "MONITIO_STREAM_SECRET": "s",
            "MONITIO_ALLOWED_ORIGINS": "https://A.example/, http://b:8080",
        }
    )
    assert config.allowed_origins == {"https://a.example", "http://b:8080"}


def test_cookie_parser_survives_malformed_neighbours():
    header = 'junk; "x=1; monitio_stream=abc:def:ghi; other=2'
    assert cookie_value(header, "monitio_stream") == "abc:def:ghi"
    assert cookie_value('monitio_stream="quoted"', "monitio_stream") == "quoted"
    assert cookie_value("monitio_streamer=x", "monitio_stream") is None


@pytest.mark.parametrize(
    "origin, host, allowed",
    [
        (None, "a.example", True),
        ("https://a.example", "a.example", True),
        ("https://a.example:443", "a.example", True),
        ("http://a.example:8000", "a.example:8000", True),
        ("http://a.example:8000", "a.example:8001", False),
        ("https://a.example.evil", "a.example", False),
        ("null", "a.example", False),
        ("https://listed.example", "a.example", True),
    ],
)
def test_origin_verdict(origin, host, allowed):
    environ = {"HTTP_HOST": host}
    if origin is not None:
        environ["HTTP_ORIGIN"] = origin
    ok, headers = origin_verdict(environ, frozenset({"https://listed.example"}))
    assert ok is allowed
    assert ("Vary", "Origin") in headers
    acao = dict(headers).get("Access-Control-Allow-Origin")
    assert acao == (
        "https://listed.example" if origin == "https://listed.example" else None
    )


def test_the_gateway_process_freezes_the_heap_it_starts_with():
    """A full garbage collection would otherwise walk every imported module's objects,
    stalling all of the process's streams (docs/performance.md)."""
    import os
    import subprocess
    import sys

    from tests.gateways import gateway_env

    probe = "import gc, sse_gateway.wsgi; print(gc.get_freeze_count())"
    env = {**os.environ, **gateway_env()}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert int(out.stdout) > 10_000
