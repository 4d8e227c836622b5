"""The request's header block, read for gevent's WSGI handler
(:attr:`gevent.pywsgi.WSGIHandler.MessageClass`).

gevent reads headers with ``http.client.parse_headers``, which hands the block to
the ``email`` package's parser: a general MIME parser, and the largest cost of a
stream connect after the Redis read. A stream request is a GET with a handful of
headers, so this reads the lines itself, and is stricter where the ``email``
parser guesses: a line without a colon, a name with spaces or an obsolete folded
line (RFC 9112, 5.2) makes the request a ``400``, as does a line past
:data:`MAX_LINE` or more than :data:`MAX_HEADERS` headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

#: Bytes in one header line (``http.client``'s limit).
MAX_LINE = 65536
#: Header lines in one request (``http.client``'s limit).
MAX_HEADERS = 100

_END = (b"\r\n", b"\n", b"")
_TOKEN_OUTSIDE = frozenset(' \t"(),/:;<=>?@[\\]{}')


class RequestHeaders:
    """The headers of one request, with the interface gevent's handler reads:
    ``status`` (why the block is refused, or ``""``), ``get``, ``getheader``,
    ``headers`` (the lines), ``typeheader``, and ``items`` for the access log."""

    __slots__ = ("_first", "_items", "status")

    def __init__(self, fp: IO[bytes], *_: object) -> None:
        self.status = ""
        self._items: list[tuple[str, str]] = []
        self._first: dict[str, str] = {}
        for _line in range(MAX_HEADERS + 1):
            raw = fp.readline(MAX_LINE + 1)
            if raw in _END:
                return
            if len(raw) > MAX_LINE:
                self.status = "Line too long"
                return
            if len(self._items) == MAX_HEADERS:
                self.status = "Too many headers"
                return
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep or not name or not _is_token(name):
                self.status = "Invalid header line"  # also a folded line
                return
            value = value.strip(" \t\r\n")
            self._items.append((name, value))
            self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (any case), or ``default``."""
        return self._first.get(name.lower(), default)

    getheader = get

    @property
    def headers(self) -> Iterator[str]:
        for name, value in self._items:
            yield f"{name}: {value}\r\n"

    @property
    def typeheader(self) -> str | None:
        return self.get("content-type")

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


def _is_token(name: str) -> bool:
    return name.isascii() and name.isprintable() and _TOKEN_OUTSIDE.isdisjoint(name)
