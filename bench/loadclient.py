"""An SSE load client that is not the bottleneck: uvloop protocols in several
processes, each holding a share of the connections.

Each connection sends one prebuilt ``GET`` and then only scans what arrives for
``marker`` (a regex with one group, the event's sequence number): no per-event
object, one clock read per socket read. Each process keeps, per sequence number,
how many connections received it, and the first and last arrival time
(``time.time()``, comparable across processes). The parent drives the processes over
pipes and reads back their counters and their own CPU time.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

try:
    import uvloop
except ImportError:  # the benchmark still runs, a little heavier
    uvloop = None

Spec = tuple[int, bytes]  # (port, request bytes)


def sse_request(port: int, path: str, cookie: str | None = None) -> bytes:
    head = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Accept: text/event-stream",
        "Cache-Control: no-cache",
    ]
    if cookie:
        head.append(f"Cookie: {cookie}")
    return ("\r\n".join(head) + "\r\n\r\n").encode()


class _Stats:
    def __init__(self, marker: bytes) -> None:
        self.find = re.compile(marker).findall
        self.events: dict[int, list[float]] = {}  # seq -> [count, first, last]
        self.open = self.failed = self.closed = 0


class _SSE(asyncio.Protocol):
    __slots__ = ("headers_done", "ready", "request", "stats", "tail", "transport")

    def __init__(self, request: bytes, stats: _Stats, ready: asyncio.Future) -> None:
        self.request, self.stats, self.ready = request, stats, ready
        self.tail = b""
        self.headers_done = False
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if not self.headers_done:
            data = self.tail + data
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.tail = data
                return
            self.headers_done = True
            if data[9:12] != b"200":
                self.stats.failed += 1
                self.ready.set_result(False)
                self.transport.close()
                return
            self.stats.open += 1
            self.ready.set_result(True)
            data, self.tail = data[end + 4 :], b""
        data = self.tail + data
        cut = data.rfind(b"\n\n") + 2
        self.tail = data[cut:] if cut > 1 else data
        if cut < 2:
            return
        seqs = self.stats.find(data[:cut])
        if seqs:
            now = time.time()
            events = self.stats.events
            for seq in seqs:
                seq = int(seq)
                entry = events.get(seq)
                if entry is None:
                    events[seq] = [1, now, now]
                else:
                    entry[0] += 1
                    entry[2] = now

    def connection_lost(self, exc) -> None:
        if not self.ready.done():
            self.stats.failed += 1
            self.ready.set_result(False)
        elif self.headers_done:
            self.stats.closed += 1


async def _serve(conn, marker: bytes) -> None:
    loop = asyncio.get_running_loop()
    stats = _Stats(marker)
    transports: list = []
    while True:
        # A thread blocks on the pipe: the loop stays free for the sockets.
        command, arg = await loop.run_in_executor(None, conn.recv)
        if command == "connect":
            specs, parallel = arg
            await _connect(loop, specs, parallel, stats, transports)
            conn.send((stats.open, stats.failed))
        elif command == "stats":
            events, stats.events = stats.events, {}
            times = os.times()
            conn.send((events, times.user + times.system, stats.open, stats.closed))
        elif command == "close":
            for transport in transports:
                transport.close()
            conn.send(True)
            return


async def _connect(
    loop, specs: list[Spec], parallel: int, stats: _Stats, transports: list
) -> None:
    gate = asyncio.Semaphore(parallel)

    async def one(port: int, request: bytes) -> None:
        async with gate:
            ready = loop.create_future()
            for attempt in range(5):
                try:
                    transport, _ = await loop.create_connection(
                        lambda: _SSE(request, stats, ready), "127.0.0.1", port
                    )
                    break
                except OSError:
                    await asyncio.sleep(0.05 * (attempt + 1))
            else:
                stats.failed += 1
                return
            transports.append(transport)
            try:
                await asyncio.wait_for(ready, 30)
            except asyncio.TimeoutError:
                stats.failed += 1

    await asyncio.gather(*(one(port, request) for port, request in specs))


def _main(conn, marker: bytes) -> None:
    from sse_gateway.fdlimit import raise_soft_limit

    raise_soft_limit()
    if uvloop is not None:
        uvloop.run(_serve(conn, marker))
    else:
        asyncio.run(_serve(conn, marker))


@dataclass
class Arrivals:
    """Merged counters of every process for one measurement window."""

    events: dict[int, list[float]] = field(default_factory=dict)
    client_cpu: float = 0.0  # CPU seconds the client processes used in the window
    open: int = 0
    closed: int = 0

    def merge(self, events: dict[int, list[float]]) -> None:
        for seq, (count, first, last) in events.items():
            mine = self.events.get(seq)
            if mine is None:
                self.events[seq] = [count, first, last]
            else:
                mine[0] += count
                mine[1] = min(mine[1], first)
                mine[2] = max(mine[2], last)

    @property
    def delivered(self) -> int:
        return int(sum(entry[0] for entry in self.events.values()))


class LoadClient:
    """``processes`` client processes sharing the connections round-robin."""

    def __init__(self, processes: int = 2, marker: bytes = rb'"s":(\d+)') -> None:
        # spawn, not fork: a forked child would inherit (and, at fork, try to close)
        # the parent's broker connections.
        ctx = mp.get_context("spawn")
        self._pipes = []
        self._procs = []
        self._cpu = [0.0] * processes
        for _ in range(processes):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_main, args=(child, marker), daemon=True)
            proc.start()
            self._pipes.append(parent)
            self._procs.append(proc)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    def connect(self, specs: Iterable[Spec], parallel: int = 200) -> tuple[int, int]:
        """Open the connections; return (open, failed) over all processes."""
        shares: list[list[Spec]] = [[] for _ in self._pipes]
        for i, spec in enumerate(specs):
            shares[i % len(shares)].append(spec)
        for pipe, share in zip(self._pipes, shares):
            pipe.send(("connect", (share, max(1, parallel // len(self._pipes)))))
        results = [pipe.recv() for pipe in self._pipes]
        return sum(r[0] for r in results), sum(r[1] for r in results)

    def collect(self) -> Arrivals:
        """Take (and reset) every process's counters."""
        arrivals = Arrivals()
        for pipe in self._pipes:
            pipe.send(("stats", None))
        for i, pipe in enumerate(self._pipes):
            events, cpu, opened, closed = pipe.recv()
            arrivals.merge(events)
            arrivals.client_cpu += cpu - self._cpu[i]
            self._cpu[i] = cpu
            arrivals.open += opened
            arrivals.closed += closed
        return arrivals

    def wait_for(
        self, expected: dict[int, int], timeout: float, poll: float = 0.02
    ) -> Arrivals:
        """Collect until each seq in ``expected`` reached its count, or timeout."""
        total = Arrivals()
        deadline = time.monotonic() + timeout
        while True:
            part = self.collect()
            total.merge(part.events)
            total.client_cpu += part.client_cpu
            total.open, total.closed = part.open, part.closed
            done = all(total.events.get(s, (0,))[0] >= n for s, n in expected.items())
            if done or time.monotonic() > deadline:
                return total
            time.sleep(poll)

    def close(self) -> None:
        for pipe in self._pipes:
            try:
                pipe.send(("close", None))
                pipe.recv()
            except (OSError, EOFError):
                pass
        for proc in self._procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()

    def __enter__(self) -> LoadClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
