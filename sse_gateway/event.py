"""Encode Server-Sent Events (WHATWG HTML, "Server-sent events", §9.2).

The encoder is the only place that writes stream bytes, so it is where field
injection is stopped (Mercure's "SSE Field Injection"):

- ``id`` and ``event`` are single-line fields. A CR, LF or CRLF inside them would end
  the field early and let the rest be read as a new field (``"1\\nevent: x"``), and a
  NUL makes a browser ignore the whole ``id``. They are stripped.
- ``data`` may hold line breaks: each line becomes its own ``data:`` field, and the
  parser joins them back with LF. Every CR, LF and CRLF counts as a break, as it does
  for the parser, so nothing in ``data`` can start a field of its own.
- ``comment`` lines start with ``:``; each line of a comment gets its own ``:``.
"""

from __future__ import annotations

import re

# The three line terminators the parser recognises, plus NUL for single-line fields.
_LINE_SEP = re.compile(r"\r\n|\r|\n")
_UNSAFE_IN_FIELD = re.compile(r"[\r\n\0]")


class ServerSentEvent:
    """One event (or a bare comment or ``retry:``), encoded with :meth:`encode`."""

    __slots__ = ("comment", "data", "event", "id", "retry")

    def __init__(
        self,
        data: str | None = None,
        *,
        event: str | None = None,
        id: str | None = None,
        retry: int | None = None,
        comment: str | None = None,
    ) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry
        self.comment = comment

    def encode(self) -> bytes:
        """Return the UTF-8 bytes of the event, ending with the blank line that
        dispatches it."""
        lines: list[str] = []
        if self.comment is not None:
            lines.extend(f": {line}" for line in _LINE_SEP.split(self.comment))
        if self.id is not None:
            lines.append(f"id: {_UNSAFE_IN_FIELD.sub('', self.id)}")
        if self.event is not None:
            lines.append(f"event: {_UNSAFE_IN_FIELD.sub('', self.event)}")
        if self.retry is not None:
            # The parser ignores a retry value that is not all ASCII digits.
            lines.append(f"retry: {max(0, int(self.retry))}")
        if self.data is not None:
            lines.extend(f"data: {line}" for line in _LINE_SEP.split(self.data))
        return ("\n".join(lines) + "\n\n").encode("utf-8")


#: A comment line: keeps proxies from closing an idle stream, dispatches nothing.
HEARTBEAT = b":\n\n"


def encode(data: str, *, event: str, id: str) -> bytes:
    """Return the bytes of one named event with an id (the common case).

    Same bytes as :meth:`ServerSentEvent.encode`, faster when nothing needs
    stripping or splitting, which is every event monitio publishes (its data is
    JSON, whose strings escape line breaks).
    """
    if (
        _UNSAFE_IN_FIELD.search(id)
        or _UNSAFE_IN_FIELD.search(event)
        or ("\n" in data or "\r" in data)
    ):
        return ServerSentEvent(data, event=event, id=id).encode()
    return f"id: {id}\nevent: {event}\ndata: {data}\n\n".encode()


#: An event's bytes as written to an HTTP/1.0 body and as an HTTP/1.1 chunk,
#: indexed by ``Client.chunked``; built once per event, shared by every receiver.
Frames = tuple[bytes, bytes]


def chunk(payload: bytes) -> bytes:
    """``payload`` as one chunk of a ``Transfer-Encoding: chunked`` body."""
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def frames(payload: bytes) -> Frames:
    """Both framings of ``payload``."""
    return payload, chunk(payload)
