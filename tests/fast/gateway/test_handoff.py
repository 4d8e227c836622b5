"""A server that cannot hand a stream's connection over (another worker class) gets
a clear error that names the set-up instead of a broken stream."""

from __future__ import annotations

from sse_gateway.app import Gateway
from sse_gateway.config import Config
from tests.gateways import SECRET


def test_a_server_without_handoff_gets_a_clear_error(caplog):
    app = Gateway(Config(stream_secret=SECRET))
    statuses = []
    body = app(
        {"PATH_INFO": "/sse/", "REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1"},
        lambda status, headers: statuses.append(status),
    )
    assert statuses == ["500 Internal Server Error"]
    assert b"".join(body) == b"Internal Server Error\n"
    assert "gunicorn -k sse_gateway.worker.StreamWorker" in caplog.text
