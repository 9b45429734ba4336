"""A real SMTP server on loopback (aiosmtpd) that records what it accepts and can be told to
fail: a temporary 451 for the next N messages, a 550 for chosen recipients, a delay."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


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
    """`starttls`: an SSL context offered through STARTTLS, and required; `implicit_tls`: the
    whole connection in TLS (SMTPS); `logins`: {user: password}, AUTH then required."""

    def __init__(self, port: int | None = None, *, starttls: ssl.SSLContext | None = None,
                 implicit_tls: ssl.SSLContext | None = None,
                 logins: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.handler = SinkHandler()
        self.logins: list[str] = []  # who logged in, in order
        options: dict = {}
        if starttls is not None:
            options.update(tls_context=starttls, require_starttls=True)
        if logins is not None:
            def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
                user = auth_data.login.decode()
                ok = logins.get(user) == auth_data.password.decode()
                if ok:
                    self.logins.append(user)
                return AuthResult(success=ok, handled=False)

            # aiosmtpd counts only STARTTLS as TLS for AUTH; under SMTPS all of it is TLS.
            options.update(authenticator=authenticator, auth_required=True,
                           auth_require_tls=starttls is not None)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     ssl_context=implicit_tls, **options)

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
