"""Mail transports chosen by CALENDAR_MAIL_URL, with failures sorted into temporary (retry
later) and permanent (give up, say why).

- file://FOLDER            one .eml per message (the embedded default: no mail server needed)
- smtp://user:pass@host:port[?starttls=1]
- smtps://user:pass@host:port
Options: timeout=SECONDS (default 30); cafile=PATH, a CA bundle to trust for STARTTLS and
SMTPS instead of the system's (a mail server with an internal CA's certificate).
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .messages import Outgoing


_DOT_LINE = re.compile(rb"^\.", re.MULTILINE)
_BARE_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"@]+@[^\s<>()\[\]\\,;:\"@]+")


def _envelope(address: str) -> str:
    """<address> for MAIL FROM / RCPT TO. smtplib's quoteaddr parses every address with
    the email package (it showed in the sender's profile); a bare one needs only brackets."""
    return f"<{address}>" if _BARE_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def _transparent(data: bytes) -> bytes:
    """The body as DATA sends it (RFC 5321 4.5.2): lines starting with "." doubled, a
    final line break. Searched first: base64 bodies never need the substitution."""
    if data.startswith(b".") or b"\n." in data:
        data = _DOT_LINE.sub(b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class TemporaryFailure(Exception):
    """Try again later (4xx, connection refused, timeout)."""


class PermanentFailure(Exception):
    """Will not succeed by retrying (5xx, invalid recipient)."""


def _classify(code: int, text: bytes | str) -> Exception:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    message = f"{code} {detail}".strip()
    return TemporaryFailure(message) if 400 <= code < 500 else PermanentFailure(message)


class FileTransport:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    @contextmanager
    def connect(self) -> Iterator[FileTransport]:
        self.folder.mkdir(parents=True, exist_ok=True)
        yield self

    def send(self, message: Outgoing, meanwhile: Callable[[], None] | None = None) -> None:
        if meanwhile is not None:
            meanwhile()
        name = "".join(ch if ch.isalnum() or ch in "-._" else "_"
                       for ch in message.message_id.strip("<>")) + ".eml"
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            out.write(message.data)
        os.replace(tmp, self.folder / name)  # same Message-ID: the same file, not a second


class _SMTPSender:
    def __init__(self, transport: SMTPTransport) -> None:
        self.transport = transport
        self.client: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        t = self.transport
        try:
            if t.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    t.host, t.port, timeout=t.timeout, context=t.tls_context())
            else:
                client = smtplib.SMTP(t.host, t.port, timeout=t.timeout)
                if t.starttls:
                    client.starttls(context=t.tls_context())
            # The final "." goes out as a small write of its own after the body (see
            # send): without TCP_NODELAY, Nagle's algorithm would hold it back until the
            # server's delayed ACK, tens of milliseconds a message.
            client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if t.username:
                client.login(t.username, t.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            # Wrong credentials are the configuration's fault, not the message's: retried
            # (with backoff) so that reminders survive until CALENDAR_MAIL_URL is fixed.
            raise TemporaryFailure(f"SMTP login refused ({exc.smtp_code}): check the user and "
                                   "password in CALENDAR_MAIL_URL") from exc
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"cannot reach {t.host}:{t.port}: {exc}") from exc
        return client

    def send(self, message: Outgoing, meanwhile: Callable[[], None] | None = None) -> None:
        """One SMTP transaction on the reused connection.

        `meanwhile` runs once, after the message's body is on the wire and before the final
        "." that lets the server accept it: work done there (the dispatcher records the
        previous result) overlaps the server reading the body, and is over before this
        message can be accepted. This is smtplib's sendmail() spelled out command by
        command (without ESMTP options, which these 7-bit messages need not) so that the
        call fits in.
        """
        if self.client is None:
            if meanwhile is not None:
                meanwhile()  # nothing on the wire to overlap with yet
                meanwhile = None
            self.client = self._open()
        client = self.client
        try:
            client.ehlo_or_helo_if_needed()
            code, text = client.docmd("mail", f"FROM:{_envelope(message.sender)}")
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, text, message.sender)
            code, text = client.docmd("rcpt", f"TO:{_envelope(message.recipient)}")
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({message.recipient: (code, text)})
            code, text = client.docmd("data")
            if code != 354:
                raise smtplib.SMTPDataError(code, text)
            client.send(_transparent(message.data))
            if meanwhile is not None:
                try:
                    meanwhile()
                except BaseException:
                    self.abandon()  # no final dot: the server discards the message
                    raise
            client.send(b".\r\n")
            code, text = client.getreply()
            if code != 250:
                raise smtplib.SMTPDataError(code, text)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self._after_error(code)
            raise _classify(code, text) from exc
        except smtplib.SMTPResponseException as exc:
            self._after_error(exc.smtp_code)
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPServerDisconnected, socket.timeout) as exc:
            self.abandon()  # the connection is gone; the next message opens a new one
            raise TemporaryFailure(f"connection lost: {exc}") from exc

    def _after_error(self, code: int) -> None:
        """421: the server is closing the connection; otherwise reset the transaction."""
        if code == 421:
            self.abandon()
        else:
            self._reset_after_error()

    def _reset_after_error(self) -> None:
        try:
            if self.client is not None:
                self.client.rset()
        except (OSError, smtplib.SMTPException):
            self.abandon()

    def abandon(self) -> None:
        """Drop the connection without a goodbye (it is broken or mid-command)."""
        if self.client is not None:
            self.client.close()
            self.client = None

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (OSError, smtplib.SMTPException):
                self.client.close()
            self.client = None


class SMTPTransport:
    def __init__(self, host: str, port: int, *, username: str | None = None,
                 password: str | None = None, starttls: bool = False,
                 implicit_tls: bool = False, timeout: float = 30.0,
                 cafile: str | None = None) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.starttls, self.implicit_tls = starttls, implicit_tls
        self.timeout = timeout
        self.cafile = cafile

    def tls_context(self) -> ssl.SSLContext:
        """Certificates verified, host name checked: against `cafile` when given."""
        return ssl.create_default_context(cafile=self.cafile)

    @contextmanager
    def connect(self) -> Iterator[_SMTPSender]:
        """One connection for a whole batch, opened lazily, reopened if it drops."""
        sender = _SMTPSender(self)
        try:
            yield sender
        finally:
            sender.close()


def transport_from_url(url: str) -> FileTransport | SMTPTransport:
    parts = urlsplit(url)
    if parts.scheme == "file":
        # file://instance/outbox (relative) and file:///var/mail/outbox (absolute).
        return FileTransport(unquote(parts.netloc + parts.path))
    if parts.scheme in ("smtp", "smtps"):
        if not parts.hostname:
            raise ValueError(f"CALENDAR_MAIL_URL: no host in {url!r}")
        query = parse_qs(parts.query)
        implicit = parts.scheme == "smtps"
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        if not ((username or "").isascii() and (password or "").isascii()):
            # smtplib's AUTH encodes credentials as ASCII; refuse them here, clearly.
            raise ValueError("CALENDAR_MAIL_URL: the SMTP user name and password must be "
                             "ASCII (percent-encode punctuation)")
        cafile = query.get("cafile", [None])[0]
        if cafile is not None and not Path(cafile).is_file():
            raise ValueError(f"CALENDAR_MAIL_URL: cafile {cafile!r} is not a readable file")
        return SMTPTransport(
            parts.hostname, parts.port or (465 if implicit else 25),
            username=username,
            password=password,
            starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
            implicit_tls=implicit,
            timeout=float(query.get("timeout", ["30"])[0]),
            cafile=cafile)
    raise ValueError(f"CALENDAR_MAIL_URL: use file://, smtp:// or smtps://, not {url!r}")
