"""Streams leave the server's request handling once admitted (``sse_gateway.handoff``).

What that must keep true, through the gateway's real gunicorn worker: an open stream
holds no request slot, a peer that goes away is noticed without waiting for a write,
the body is framed right for HTTP/1.1 and HTTP/1.0, and a server that cannot hand a
connection over (another worker class; TLS or HTTP/2 in gunicorn) gets a clear error
that names the set-up instead of a broken stream.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import pytest

from monitio import publish, wire
from sse_gateway import handoff
from tests import procs
from tests.gateways import gateway_env, mint
from tests.sseclient import Parser


def _raw_stream(port: int, user: int, version: str = "1.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        f"GET /sse/ HTTP/{version}\r\nHost: 127.0.0.1\r\n"
        f"Cookie: monitio_stream={mint(user)}\r\n\r\n".encode()
    )
    return sock


def _read_until(sock: socket.socket, marker: bytes, timeout: float = 10) -> bytes:
    deadline = time.monotonic() + timeout
    sock.settimeout(timeout)
    data = b""
    while marker not in data and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_open_streams_hold_no_request_slot(start_gateway, redis_client, streams):
    """50 streams through a worker allowed 5 requests at once: all admitted, all live."""
    gw = start_gateway(args=("--worker-connections", "5"))
    opened = [gw.stream(u) for u in range(1, 51)]
    streams += opened
    assert [s.status() for s in opened] == [200] * 50
    assert gw.get("/healthz").status_code == 200
    ids = publish.publish_many((u, wire.MESSAGE, {"u": u}) for u in range(1, 51))
    for stream, sent in zip(opened, ids):
        assert [e.id for e in stream.wait_events(1)] == [sent]
    assert gw.metric("connections") == 50


def test_peer_close_is_noticed_without_a_write(start_gateway, redis_client, streams):
    """No heartbeat for a minute, no event: the closed stream is forgotten at once."""
    gw = start_gateway(MONITIO_HEARTBEAT_SECONDS="60")
    stream = gw.stream(1)
    streams.append(stream)
    assert stream.status() == 200
    assert gw.metric("connections") == 1
    stream.close()
    deadline = time.monotonic() + 5
    while gw.metric("connections") and time.monotonic() < deadline:
        time.sleep(0.05)
    print(f"R16 peer_close_noticed_s={5 - (deadline - time.monotonic()):.2f} heartbeat_s=60")
    assert gw.metric("connections") == 0


def test_http11_body_is_chunked_and_ends_with_last_chunk(start_gateway, redis_client):
    """Every write is one chunk; a drained stream ends with the last chunk."""
    gw = start_gateway()
    sock = _raw_stream(gw.port, 1)
    data = _read_until(sock, b"\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.lower().startswith(b"http/1.1 200 ok")
    assert b"transfer-encoding: chunked" in head.lower()
    assert b"connection: close" in head.lower()
    sent = publish.publish(1, wire.MESSAGE, {"n": 1})
    body += _read_until(sock, sent.encode())
    gw.stop(signal.SIGTERM)
    body += _read_until(sock, b"never")  # until the gateway closes the connection
    sock.close()
    chunks, rest = [], body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        assert rest[size : size + 2] == b"\r\n"
        chunks.append(rest[:size])
        rest = rest[size + 2 :]
    assert chunks[-1] == b""  # the last chunk: the body ended, it was not cut
    parser = Parser()
    events = parser.feed(b"".join(chunks))
    assert [e.id for e in events] == [sent]
    assert parser.fields.count("retry") == 2  # the opening's, then the drain's


def test_http10_body_is_the_events_themselves(gateway, redis_client):
    sock = _raw_stream(gateway.port, 2, version="1.0")
    data = _read_until(sock, b"\r\n\r\n")  # admitted: live events reach it now
    sent = publish.publish(2, wire.MESSAGE, {"n": 2})
    data += _read_until(sock, sent.encode())
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower()
    events = Parser().feed(body)
    assert events[-1].id == sent and events[-1].data == '{"n":2}'


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (``openssl`` CLI)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


@pytest.mark.parametrize("config_file", [False, True], ids=["-k", "-c"])
@pytest.mark.parametrize(
    "setup, args",
    [
        (handoff.TLS, ("--certfile", "{cert}", "--keyfile", "{key}")),
        (handoff.HTTP2, ("--http-protocols", "h2,h1", "--http2-cleartext", "both")),
    ],
)
def test_tls_or_http2_in_gunicorn_is_refused_at_start(
    tmp_path, redis_client, certificate, setup, args, config_file
):
    """The stream's bytes would go out in the clear under gunicorn's TLS session, and
    an HTTP/2 connection carries many requests: the worker names the set-up at
    CRITICAL and gunicorn exits before serving anything, with the worker given by
    ``-k`` or by ``sse_gateway.gunicorn_conf``."""
    cert, key = certificate
    log = tmp_path / "gateway.log"
    worker = ("-c", "python:sse_gateway.gunicorn_conf") if config_file else (
        "-k", handoff.WORKER)
    proc = procs.start(
        [str(procs.VENV_BIN / "gunicorn"), *worker,
         "-b", f"127.0.0.1:{procs.free_port()}",
         *(a.format(cert=cert, key=key) for a in args), "sse_gateway.wsgi:application"],
        log,
        **gateway_env(),
    )
    try:
        code = proc.wait(30)
    finally:
        procs.stop(proc)
    critical = [line for line in log.read_text().splitlines()
                if "[CRITICAL]" in line and setup in line]
    print(f"R17b setup={setup!r} config_file={'yes' if config_file else 'no'} "
          f"exit_code={code} critical_lines={len(critical)}")
    assert code != 0 and len(critical) == 1
    assert "docs/nginx.conf" in critical[0]
