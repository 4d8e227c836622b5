"""The publishing side of the load: monitio's worker path, a raw Redis flood that
runs the same Lua script without redis-py's overhead, and pipelined nchan POSTs."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from monitio import wire
from monitio.conf import settings


def broadcast(user_ids: Sequence[str], seq: int) -> None:
    """One event to every user, through ``monitio.publish.publish_many`` (the path
    the Celery worker takes)."""
    from monitio.publish import publish_many

    data = wire.dumps({"s": seq})
    publish_many((uid, wire.MESSAGE, data) for uid in user_ids)


def _resp(*args: str | int) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        raw = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)


def flood(redis_url: str, events: Sequence[tuple[str, int]], chunk: int = 2000) -> None:
    """Run ``wire.PUBLISH_SCRIPT`` over each ``(user_id, seq)``, batched exactly as
    ``publish_many`` batches, pipelined with replies off, and wait until Redis ran all."""
    parts = urlsplit(redis_url)
    sha = hashlib.sha1(wire.PUBLISH_SCRIPT.encode()).hexdigest()
    prefix = settings.KEY_PREFIX
    head = (
        2,
        wire.epoch_key(prefix),
        wire.fanout_key(prefix),
        "benchep",
        settings.HISTORY_MAXLEN,
        settings.HISTORY_TTL,
        settings.FANOUT_MAXLEN,
        wire.SENT_TTL,
    )

    def call(batch: Sequence[tuple[str, int]]) -> bytes:
        keys = [k for uid, _ in batch for k in (wire.user_stream_key(prefix, uid), "-")]
        args = [a for uid, seq in batch for a in (wire.MESSAGE, '{"s":%d}' % seq, uid, 0)]
        numkeys, *rest = head
        return _resp("EVALSHA", sha, numkeys + len(keys), rest[0], rest[1], *keys, *rest[2:], *args)

    with socket.create_connection((parts.hostname, parts.port or 6379)) as sock:
        reader = sock.makefile("rb")
        db = (parts.path or "/0").strip("/") or "0"
        sock.sendall(_resp("SELECT", db) + _resp("SCRIPT", "LOAD", wire.PUBLISH_SCRIPT))
        reader.readline()
        reader.readline(), reader.readline()
        sock.sendall(_resp("CLIENT", "REPLY", "OFF"))
        step = wire.PUBLISH_BATCH
        for start in range(0, len(events), chunk):
            part = events[start : start + chunk]
            sock.sendall(b"".join(call(part[i : i + step]) for i in range(0, len(part), step)))
        sock.sendall(_resp("CLIENT", "REPLY", "ON") + _resp("PING"))
        while not reader.readline().startswith(b"+PONG"):
            pass


def nchan_publish(
    port: int, posts: Sequence[tuple[str, bytes]], connections: int = 4
) -> int:
    """POST each ``(channel, body)`` to nchan, pipelined over keep-alive
    connections; return how many answered 2xx."""
    return asyncio.run(_nchan(port, posts, connections))


async def _nchan(
    port: int, posts: Sequence[tuple[str, bytes]], connections: int
) -> int:
    shares = [posts[i::connections] for i in range(connections)]
    results = await asyncio.gather(*(_pipeline(port, s) for s in shares if s))
    return sum(results)


async def _pipeline(port: int, posts: Sequence[tuple[str, bytes]]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "POST /pub?id={} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n"
    payload = b"".join(head.format(ch, len(body)).encode() + body for ch, body in posts)
    writer.write(payload)
    seen = ok = 0
    buffer = b""
    while seen < len(posts):
        data = await reader.read(1 << 16)
        if not data:
            break
        buffer += data
        seen_now = buffer.count(b"HTTP/1.1 ")
        ok += buffer.count(b"HTTP/1.1 20")
        seen += seen_now
        buffer = buffer[buffer.rfind(b"HTTP/1.1 ") + 1 :] if seen_now else buffer
    writer.close()
    return ok
