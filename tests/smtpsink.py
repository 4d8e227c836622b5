"""A minimal SMTP server that records what it is given: envelope and raw message.

Django's SMTP backend is what sites use, and only it builds the SMTP envelope
(``sanitize_address``), so the header-injection test talks real SMTP to this sink.
"""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class Received:
    mail_from: str
    rcpt_to: list[str]
    data: str


@dataclass
class SmtpSink:
    port: int = 0
    received: list[Received] = field(default_factory=list)

    def start(self) -> SmtpSink:
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(f"{line}\r\n".encode())

            def handle(self) -> None:
                self.reply("220 sink ready")
                mail_from, rcpts = "", []
                while line := self.rfile.readline():
                    command = line.decode("latin-1").rstrip("\r\n")
                    verb = command[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 sink")
                    elif verb == "MAIL":
                        mail_from, rcpts = command[10:], []
                        self.reply("250 ok")
                    elif verb == "RCPT":
                        rcpts.append(command[8:])
                        self.reply("250 ok")
                    elif verb == "DATA":
                        self.reply("354 go on")
                        lines = []
                        while (part := self.rfile.readline()) not in (b".\r\n", b""):
                            lines.append(part.decode("utf-8", "replace"))
                        sink.received.append(Received(mail_from, rcpts, "".join(lines)))
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # RSET, NOOP and the rest
                        self.reply("250 ok")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
