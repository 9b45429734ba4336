"""A real SMTP server on loopback (aiosmtpd) that records what it accepts and can be told to
fail: a temporary 451 for the next N messages, a 550 for chosen recipients, a delay."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    temporary_failures: int = 0  # answer 451 to the next N messages
    rejected: set[str] = field(default_factory=set)  # 550 at RCPT for these addresses
    delay: float = 0.0
    # Called with the envelope once the whole message is in, before it is accepted.
    on_data: Callable[[object], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.rejected:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.temporary_failures > 0:
                self.temporary_failures -= 1
                return "451 4.3.0 Try again later"
        if self.delay:
            time.sleep(self.delay)  # deliberately blocking: a slow server
        if self.on_data is not None:
            self.on_data(envelope)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.content))
        return "250 Message accepted"


class SMTPSink:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = SinkHandler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=5"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> SMTPSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
