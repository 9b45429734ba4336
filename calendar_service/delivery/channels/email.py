"""E-mail: each letter an EmailMessage built for its recipient (plain text + HTML, and its
attachments — a reminder's occurrence as .ics), sent through the transport CALENDAR_MAIL_URL
names:

- file://FOLDER            one .eml per message, named after its Message-ID, so a repeated
                           send replaces the file (the embedded default: no mail server)
- smtp://user:pass@host:port[?starttls=1]
- smtps://user:pass@host:port
Options: timeout=SECONDS (default 30); cafile=PATH, a CA bundle to trust for STARTTLS and
SMTPS instead of the system's (a mail server with an internal CA's certificate).

SMTP goes through smtplib on one connection per dispatch run, opened at the first message
and opened again after it drops. Failures are temporary (4xx, connection problems, a refused
login: retried with backoff, so reminders wait until CALENDAR_MAIL_URL is fixed) or permanent
(5xx: that delivery fails, the others go on).
"""

from __future__ import annotations

import email.policy
import hashlib
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from email_validator import EmailNotValidError, validate_email

from ..models import EMAIL
from . import ENV, Letter, PermanentFailure, Recipient, TemporaryFailure, Unresponsive

if TYPE_CHECKING:
    from ...config import Settings


class EmailChannel:
    name = EMAIL

    def __init__(self, settings: Settings) -> None:
        self.mail_url = settings.mail_url
        self.sender = settings.mail_from

    def address(self, recipient: Recipient) -> str | None:
        return recipient.email if recipient.email_enabled else None

    def render(self, letter: Letter) -> EmailMessage:
        try:
            return build_email(letter, sender=self.sender)
        except AddressError as exc:  # an address stored before addresses were checked
            raise PermanentFailure(str(exc)) from exc

    @contextmanager
    def open(self) -> Iterator[Callable[[EmailMessage], None]]:
        with transport_from_url(self.mail_url).connect() as connection:
            yield connection.send


# --- Messages --------------------------------------------------------------------------------


class AddressError(ValueError):
    """An address plain SMTP cannot carry."""


def ascii_email(address: str) -> str:
    """The address as SMTP and mail headers carry it: an internationalised domain in IDNA
    (xn--) form. Raises AddressError for what plain SMTP cannot carry at all (a non-ASCII
    part before the @ would need SMTPUTF8, which many mail servers lack)."""
    if address.isascii():
        return address
    try:
        return validate_email(address, check_deliverability=False,
                              allow_smtputf8=False).ascii_email
    except EmailNotValidError as exc:
        raise AddressError(f"cannot send to {address!r} without SMTPUTF8: {exc}") from None


_CONTROL = re.compile(r"[\r\n\x00-\x1f\x7f]+")


def header_safe(value: str) -> str:
    """No CR, LF or control character reaches a header: header injection is impossible
    (and EmailMessage refuses line breaks in a header besides)."""
    return _CONTROL.sub(" ", value).strip()


class _AsIs:
    """A header written on one line as it is given: for those this module formats itself,
    ASCII and without line breaks. The email package's own handling, for these four:
    - Message-ID, List-Unsubscribe: it folds a long Message-ID onto a line of its own, and
      turns a long URL into encoded words, which List-Unsubscribe may not contain
      (RFC 2369);
    - From, To (formatted by `mailbox` below, with the standard library's formataddr): it
      folds an address through its parse tree, slowly when the name has Vietnamese
      letters. For the benchmark's subscribers a reminder takes 3.2 ms to build with
      headerregistry.Address headers, 2.1 ms this way (BENCHMARKS.md)."""

    max_count = 1

    @classmethod
    def parse(cls, value: str, kwds: dict) -> None:
        kwds["decoded"], kwds["parse_tree"] = value, None  # kept as given, not decoded

    def fold(self, *, policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


_HEADERS = HeaderRegistry()
for _name in ("from", "to", "message-id", "list-unsubscribe"):
    _HEADERS.map_to_type(_name, _AsIs)
# The standard policy with CRLF line ends, as SMTP and .eml files want them.
POLICY = email.policy.SMTP.clone(header_factory=_HEADERS)


def mailbox(name: str | None, address: str) -> str:
    """`Name <address>` for From and To: the name quoted or RFC 2047-encoded as needed,
    an internationalised domain in IDNA form (raises AddressError for an address plain
    SMTP cannot carry)."""
    return formataddr((header_safe(name or ""), ascii_email(address)), charset="utf-8")


def build_email(letter: Letter, *, sender: str) -> EmailMessage:
    """multipart/mixed = multipart/alternative (text, HTML) + the letter's attachments."""
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = header_safe(letter.subject)
    msg["From"] = mailbox(*parseaddr(sender))
    msg["To"] = mailbox(letter.recipient_name, letter.address)
    msg["Date"] = letter.sent_at
    msg["Message-ID"] = header_safe(letter.message_id)
    if letter.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{header_safe(letter.unsubscribe_url)}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    msg["Auto-Submitted"] = "auto-generated"
    # base64: 7-bit on the wire, whatever the mail server supports.
    msg.set_content(letter.render(".txt"), cte="base64")
    msg.add_alternative(letter.render(".html"), subtype="html", cte="base64")
    for a in letter.attachments:
        msg.add_attachment(a.content, maintype=a.maintype, subtype=a.subtype,
                           filename=a.filename, params={"charset": "utf-8"})
    return msg


def build_confirmation(*, recipient: str, name: str | None, sender: str, confirm_url: str,
                       sent_at: datetime, host: str) -> EmailMessage:
    """The double opt-in e-mail: one plain-text part with the signed link."""
    token = hashlib.sha256(f"{recipient}|{confirm_url}".encode()).hexdigest()[:24]
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = "[Lịch kỷ niệm] Xác nhận đăng ký nhận nhắc lịch"
    msg["From"] = mailbox(*parseaddr(sender))
    msg["To"] = mailbox(name, recipient)
    msg["Date"] = sent_at
    msg["Message-ID"] = f"<confirm.{token}@{host}>"
    msg["Auto-Submitted"] = "auto-generated"
    text = ENV.get_template("email/confirm.txt").render(name=name, email=recipient,
                                                         url=confirm_url)
    msg.set_content(text, cte="base64")
    return msg


# --- Transports ------------------------------------------------------------------------------


def _timed_out(exc: BaseException) -> bool:
    """A socket timeout, as raised or as smtplib wraps it (SMTPServerDisconnected)."""
    return any(isinstance(e, TimeoutError) for e in (exc, exc.__cause__, exc.__context__))


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

    def send(self, message: EmailMessage) -> None:
        name = "".join(ch if ch.isalnum() or ch in "-._" else "_"
                       for ch in str(message["Message-ID"]).strip("<>")) + ".eml"
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
            with os.fdopen(fd, "wb") as out:
                out.write(message.as_bytes())
            os.replace(tmp, self.folder / name)  # same Message-ID: the same file
        except OSError as exc:  # a full disk, say: try again later
            raise TemporaryFailure(f"cannot write to {self.folder}: {exc}") from exc


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
    def connect(self) -> Iterator[_SMTPConnection]:
        connection = _SMTPConnection(self)
        try:
            yield connection
        finally:
            connection.close()


class _SMTPConnection:
    """One SMTP connection for many messages: opened at the first, opened again after it
    drops (the message that found it dropped is retried later, like any temporary
    failure: it may have reached the server)."""

    def __init__(self, transport: SMTPTransport) -> None:
        self.transport = transport
        self.client: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        t = self.transport
        try:
            if t.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(t.host, t.port, timeout=t.timeout,
                                                        context=t.tls_context())
            else:
                client = smtplib.SMTP(t.host, t.port, timeout=t.timeout)
        except OSError as exc:  # refused, unreachable, timed out, a certificate refused
            if _timed_out(exc):
                raise Unresponsive(f"{t.host}:{t.port} did not answer within "
                                   f"{t.timeout:g} s") from exc
            raise TemporaryFailure(f"cannot reach {t.host}:{t.port}: {exc}") from exc
        try:
            if t.starttls and not t.implicit_tls:
                client.starttls(context=t.tls_context())
            if t.username:
                client.login(t.username, t.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            client.close()
            # Wrong credentials are the configuration's fault, not the message's.
            raise TemporaryFailure(f"SMTP login refused ({exc.smtp_code}): check the user and "
                                   "password in CALENDAR_MAIL_URL") from exc
        except smtplib.SMTPResponseException as exc:
            client.close()
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except OSError as exc:  # TLS refused, the connection lost (smtplib's errors too)
            client.close()
            if _timed_out(exc):  # connected, then no answer to EHLO, STARTTLS or AUTH
                raise Unresponsive(f"{t.host}:{t.port} did not answer within "
                                   f"{t.timeout:g} s") from exc
            raise TemporaryFailure(f"cannot reach {t.host}:{t.port}: {exc}") from exc
        return client

    def send(self, message: EmailMessage) -> None:
        if self.client is None:
            self.client = self._open()
        try:
            self.client.send_message(message)  # the envelope from From and To
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise self._failed(code, text) from exc
        except smtplib.SMTPResponseException as exc:  # MAIL or DATA refused
            raise self._failed(exc.smtp_code, exc.smtp_error) from exc
        except OSError as exc:  # dropped, timed out (smtplib's own errors are OSErrors)
            self._drop()
            if _timed_out(exc):  # the server stopped answering mid-conversation
                raise Unresponsive(f"no answer within {self.transport.timeout:g} s") from exc
            raise TemporaryFailure(f"connection lost: {exc}") from exc

    def _failed(self, code: int, text: bytes | str) -> Exception:
        """A refusal; smtplib has reset the transaction, or closed the connection on 421."""
        if self.client is not None and self.client.sock is None:
            self.client = None
        return _classify(code, text)

    def _drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except OSError:
                self.client.close()
            self.client = None


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
