"""The worker's header reader (``sse_gateway.request_headers``): what gevent's handler
reads of it, and the header blocks it refuses (the handler answers those ``400``)."""

from __future__ import annotations

import io

import pytest

from sse_gateway.request_headers import MAX_HEADERS, MAX_LINE, RequestHeaders


def _read(block: bytes) -> tuple[RequestHeaders, bytes]:
    fp = io.BytesIO(block)
    headers = RequestHeaders(fp, 0)
    return headers, fp.read()


def test_reads_up_to_the_blank_line_and_looks_names_up_in_any_case():
    headers, rest = _read(
        b"Host: gw\r\nCookie: a=1\r\ncookie: b=2\r\nContent-Type: text/plain\r\n"
        b"Last-Event-ID:  e:1-0 \r\n\r\nbody"
    )
    assert headers.status == ""
    assert headers.get("HOST") == "gw"
    assert headers.get("cookie") == "a=1"  # the first of repeated headers
    assert headers.getheader("missing", "d") == "d"
    assert headers.typeheader == "text/plain"
    assert headers.get("last-event-id") == "e:1-0"
    assert list(headers.headers) == [
        "Host: gw\r\n", "Cookie: a=1\r\n", "cookie: b=2\r\n",
        "Content-Type: text/plain\r\n", "Last-Event-ID: e:1-0\r\n",
    ]
    assert headers.items()[1] == ("Cookie", "a=1")
    assert rest == b"body"  # the body is left to the handler


def test_bare_newlines_and_an_empty_block():
    headers, _ = _read(b"Host: gw\n\n")
    assert headers.status == "" and headers.get("host") == "gw"
    headers, _ = _read(b"\r\n")
    assert headers.status == "" and list(headers.headers) == []


@pytest.mark.parametrize(
    "block",
    [
        b"no colon here\r\n\r\n",
        b"Bad Name: x\r\n\r\n",
        b"Host : gw\r\n\r\n",
        b": empty name\r\n\r\n",
        b"X-A: 1\r\n folded: line\r\n\r\n",
        b"X-\xe9: 1\r\n\r\n",
        b"X-Long: " + b"a" * MAX_LINE + b"\r\n\r\n",
        b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS + 1)) + b"\r\n",
    ],
)
def test_refused_blocks_have_a_status(block):
    headers, _ = _read(block)
    assert headers.status


def test_as_many_headers_as_allowed_pass():
    block = b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS)) + b"\r\n"
    headers, _ = _read(block)
    assert headers.status == ""
