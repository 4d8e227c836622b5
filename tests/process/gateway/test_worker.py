"""The gateway's own gunicorn worker (``sse_gateway.worker.StreamWorker``).

It stands on gunicorn's documented worker contract and gevent's public WSGI server
only, so no canary test watches a private internal; these tests watch what it
must do as a process: start under ``gunicorn -k <path>``, serve a stream and plain
requests (keep-alive included), log requests without their query string, and drain
on SIGTERM, then exit cleanly.
"""

from __future__ import annotations

import signal
import socket

import httpx

from monitio import publish, wire
from sse_gateway import handoff
from tests.gateways import mint


def test_serves_a_stream_and_drains_it_on_sigterm(start_gateway, redis_client, streams):
    gw = start_gateway(args=("-k", handoff.WORKER))
    stream = gw.stream(1)
    streams.append(stream)
    assert stream.status() == 200
    sent = publish.publish(1, wire.MESSAGE, {"n": 1})
    assert [e.id for e in stream.wait_events(1)] == [sent]
    gw.stop(signal.SIGTERM)
    assert stream.wait_end(10)
    assert stream.parser.fields.count("retry") == 2  # the opening's, then the drain's
    assert stream.raw.endswith(b"\n\n")
    assert gw.proc.returncode == 0
    assert "Using worker: sse_gateway.worker.StreamWorker" in gw.log.read_text()


def test_keeps_requests_alive_and_logs_no_query_string(
    start_gateway, redis_client
):
    gw = start_gateway(args=("--access-logfile", "-", "--access-logformat",
                             '"%(m)s %(U)s %(H)s" %(s)s'))
    with httpx.Client(base_url=gw.url, timeout=10) as client:
        answers = [client.get("/healthz?secret=do-not-log") for _ in range(3)]
        ports = {a.extensions["network_stream"].get_extra_info("client_addr")[1]
                 for a in answers}
    assert [a.status_code for a in answers] == [200] * 3
    assert len(ports) == 1  # one connection, kept alive
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    sock.sendall(f"GET /sse/?x=do-not-log HTTP/1.1\r\nHost: h\r\n"
                 f"Cookie: monitio_stream={mint(1)}\r\n\r\n".encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")
    sock.close()
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    sock.sendall(b"GET /sse/?x=do-not-log HTTP/1.1 junk\r\n\r\n")  # malformed
    assert sock.recv(4096).startswith(b"HTTP/1.1 400 Bad Request")
    sock.close()
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    # A header line without a colon (sse_gateway.request_headers), credential valid.
    sock.sendall(f"GET /sse/ HTTP/1.1\r\nHost h\r\n"
                 f"Cookie: monitio_stream={mint(1)}\r\n\r\n".encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 400 Bad Request")
    sock.close()
    gw.stop(signal.SIGTERM)
    log = gw.log.read_text()
    assert log.count('"GET /healthz HTTP/1.1" 200') == 3
    assert "do-not-log" not in log
    assert '"GET /sse/ HTTP/1.1" 200' in log
    assert "refused a malformed HTTP request (400)" in log
