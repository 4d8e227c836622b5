"""An SMTP server that only counts what it is given, for benchmarks and fault tests.

asyncio, no aiosmtpd: it speaks just enough SMTP for Django's SMTP backend (EHLO,
MAIL, RCPT, DATA, RSET, NOOP, QUIT) and records each message's recipients and
``Message-ID``. It runs its own event loop in a thread of the calling process.
``rcpt_delay`` slows every RCPT, so a test can kill a sender while it waits there
(before the message exists), and :attr:`Sink.waiting` says when one is;
``refuse`` makes it refuse some recipients.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field


@dataclass
class Received:
    rcpt_to: list[str]
    message_id: str
    data: bytes


@dataclass
class Sink:
    rcpt_delay: float = 0.0
    #: RCPT of an address containing this is refused (550).
    refuse: str = ""
    keep_data: bool = True
    port: int = 0
    received: list[Received] = field(default_factory=list)
    waiting: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Sink:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=128, limit=2**22)
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 sink ready\r\n")
        rcpts: list[str] = []
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250 sink\r\n")
                elif verb == b"MAIL":
                    rcpts = []
                    writer.write(b"250 ok\r\n")
                elif verb == b"RCPT" and self.refuse and self.refuse.encode() in line:
                    writer.write(b"550 no such user\r\n")
                elif verb == b"RCPT":
                    if self.rcpt_delay:
                        self.waiting.set()
                        await asyncio.sleep(self.rcpt_delay)
                        self.waiting.clear()
                    rcpts.append(line[8:].strip().decode("latin-1"))
                    writer.write(b"250 ok\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go on\r\n")
                    await writer.drain()
                    data = await reader.readuntil(b"\r\n.\r\n")
                    self.received.append(Received(rcpts, _message_id(data), data if self.keep_data else b""))
                    writer.write(b"250 queued\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    break
                else:
                    writer.write(b"250 ok\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def _message_id(data: bytes) -> str:
    for line in data.split(b"\r\n", 60):
        if line[:11].lower() == b"message-id:":
            return line[11:].strip().decode("latin-1")
    return ""
