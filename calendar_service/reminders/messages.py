"""Reminder messages: a Vietnamese e-mail (plain text + HTML + .ics) and a chat text."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import escape

from ..anniversaries import Occurrence
from ..resources import TEMPLATES
from ..vietnamese import long_date, short_date
from .subscribers import ascii_email

_LINE_BREAKS = re.compile(r"[\r\n\x00-\x1f\x7f]+")


def header_safe(value: str) -> str:
    """No CR, LF or control character ever reaches a header (header injection)."""
    return _LINE_BREAKS.sub(" ", value).strip()


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["short_date"] = short_date
    env.filters["long_date"] = long_date
    return env


ENV = _environment()
TEXT = ENV.get_template("email/reminder.txt")
HTML = ENV.get_template("email/reminder.html")
CONFIRM = ENV.get_template("email/confirm.txt")


def countdown(days_left: int) -> str:
    return "Hôm nay" if days_left == 0 else f"Còn {days_left} ngày"


def subject(occ: Occurrence, days_left: int) -> str:
    assert occ.date is not None
    return header_safe(f"[Lịch kỷ niệm] {countdown(days_left)}: {occ.title} "
                       f"({short_date(occ.date)})")


def message_id(commemoration_id: str, year: int, occurrence_date: date, lead_days: int,
               channel: str, email: str, host: str) -> str:
    """Deterministic per delivery: a repeated send carries the same id, clients collapse it."""
    who = hashlib.sha256(email.lower().encode()).hexdigest()[:16]
    return (f"<reminder.{commemoration_id}.{year}.{occurrence_date:%Y%m%d}.{lead_days}d."
            f"{channel}.{who}@{host}>")


@dataclass(frozen=True)
class Reminder:
    occurrence: Occurrence
    days_left: int
    recipient_email: str
    recipient_name: str | None
    event_url: str
    unsubscribe_url: str
    upcoming: list[Occurrence]
    message_id: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message ready for any transport: envelope and the exact bytes (CRLF)."""

    message_id: str
    sender: str
    recipient: str
    data: bytes


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


@lru_cache(maxsize=512)  # every recipient of an occurrence shares its subject
def _encoded(text: str) -> str:
    return Header(text, "utf-8").encode(linesep="\r\n")


def encoded_attachment(ics: bytes) -> bytes:
    """The .ics part's base64, identical for every recipient of an occurrence: cache it."""
    return _b64(ics)


# Mail merge: a reminder's two bodies are rendered once per occurrence and lead time, with a
# marker where each per-recipient field goes, and filled in for every recipient. Rendering
# is most of a message's cost, and every recipient of one occurrence reads the same text.
# Both fields are never empty, so a template's {% if %} on them reads the same either way.
PER_RECIPIENT = ("recipient_email", "unsubscribe_url")
_TOKEN = secrets.token_hex(16)  # no text contains it by chance: it splits only our markers
_MARKER = re.compile(f"\x00{_TOKEN}:([a-z_]+)\x00")


@dataclass(frozen=True, slots=True)
class Letter:
    """A reminder's text and HTML bodies for all its recipients: literal pieces alternating
    with the names of the per-recipient fields to put between them."""

    text: tuple[str, ...]
    html: tuple[str, ...]

    @classmethod
    def render(cls, r: Reminder) -> Letter:
        """Render `r`'s bodies once, whoever it is for. Templates may print the
        per-recipient fields ({{ r.recipient_email }}), not transform them: a marker that
        does not come back intact is an error here, not a wrong message later. The name
        and the Message-ID are only in the headers: a template using them fails here too."""
        marked = dataclasses.replace(
            r, recipient_name=StrictUndefined(name="recipient_name"),
            message_id=StrictUndefined(name="message_id"),
            **{f: f"\x00{_TOKEN}:{f}\x00" for f in PER_RECIPIENT})
        context = {"r": marked, "occ": r.occurrence, "c": r.occurrence.commemoration,
                   "countdown": countdown(r.days_left)}
        return cls(_pieces(TEXT.render(context)), _pieces(HTML.render(context)))

    def fill(self, r: Reminder) -> tuple[str, str]:
        """The (text, HTML) bodies for `r`'s recipient, exactly as rendering for them
        would give: HTML values escaped as autoescape would."""
        values = {f: getattr(r, f) for f in PER_RECIPIENT}
        text = "".join(values[p] if i % 2 else p for i, p in enumerate(self.text))
        html = "".join(escape(values[p]) if i % 2 else p for i, p in enumerate(self.html))
        return text, html


def _pieces(rendered: str) -> tuple[str, ...]:
    pieces = tuple(_MARKER.split(rendered))
    # The catalogue keeps no control characters, so a NUL left over is a broken marker.
    if "\x00" in "".join(pieces[::2]) or not set(pieces[1::2]) <= set(PER_RECIPIENT):
        raise ValueError("a reminder template altered a per-recipient field; print it as "
                         "{{ r.field }} only")
    return pieces


def build_email(r: Reminder, *, sender: str, sent_at: datetime, ics_b64: bytes,
                letter: Letter | None = None) -> Outgoing:
    """multipart/mixed = multipart/alternative (text, HTML) + the occurrence as .ics.

    `letter` is the bodies rendered once for every recipient of the occurrence (see
    Letter); without it they are rendered for this message alone.

    Headers are encoded with the standard library (email.header, email.utils); the MIME
    skeleton is written here because the email package's generator re-parses and re-folds
    every header, which cost 4 ms of a reminder's 5 (see BENCHMARKS.md). The suite parses
    every message with the standard library's strict parser.
    """
    occ = r.occurrence
    text, html = (letter or Letter.render(r)).fill(r)
    # Base64 never contains "=_", so such boundaries cannot collide with content.
    seed = hashlib.sha256(r.message_id.encode()).hexdigest()[:24]
    outer, inner = f"=_mixed_{seed}", f"=_alt_{seed}"
    filename = f"{occ.id}-{occ.year}.ics"
    recipient = header_safe(ascii_email(r.recipient_email))  # raises SubscriberError
    headers = [
        ("Subject", _encoded(subject(occ, r.days_left))),
        ("From", header_safe(sender)),
        ("To", formataddr((header_safe(r.recipient_name or ""), recipient), charset="utf-8")),
        ("Date", format_datetime(sent_at)),
        ("Message-ID", header_safe(r.message_id)),
        ("List-Unsubscribe", f"<{header_safe(r.unsubscribe_url)}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),  # RFC 8058
        ("Auto-Submitted", "auto-generated"),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/mixed; boundary="{outer}"'),
    ]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("ascii")
    parts = [
        head, b"\r\n",
        f"--{outer}\r\nContent-Type: multipart/alternative; boundary=\"{inner}\"\r\n\r\n"
        .encode(),
        f"--{inner}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n".encode(),
        _b64(text.encode("utf-8")),
        f"--{inner}\r\nContent-Type: text/html; charset=\"utf-8\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n".encode(),
        _b64(html.encode("utf-8")),
        f"--{inner}--\r\n\r\n".encode(),
        f"--{outer}\r\nContent-Type: text/calendar; charset=\"utf-8\"; name=\"{filename}\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; filename=\"{filename}\"\r\n\r\n".encode(),
        ics_b64,
        f"--{outer}--\r\n".encode(),
    ]
    return Outgoing(r.message_id, header_safe(sender), recipient, b"".join(parts))


def build_confirmation(*, recipient: str, name: str | None, sender: str, confirm_url: str,
                       sent_at: datetime, host: str) -> Outgoing:
    """The double opt-in e-mail: one plain-text part with the signed link."""
    token = hashlib.sha256(f"{recipient}|{confirm_url}".encode()).hexdigest()[:24]
    mid = f"<confirm.{token}@{host}>"
    text = CONFIRM.render({"name": name, "email": recipient, "url": confirm_url})
    address = header_safe(ascii_email(recipient))
    headers = [
        ("Subject", Header("[Lịch kỷ niệm] Xác nhận đăng ký nhận nhắc lịch", "utf-8")
         .encode(linesep="\r\n")),
        ("From", header_safe(sender)),
        ("To", formataddr((header_safe(name or ""), address), charset="utf-8")),
        ("Date", format_datetime(sent_at)),
        ("Message-ID", mid),
        ("Auto-Submitted", "auto-generated"),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", "base64"),
    ]
    head = "".join(f"{n}: {v}\r\n" for n, v in headers).encode("ascii")
    return Outgoing(mid, header_safe(sender), address,
                    head + b"\r\n" + _b64(text.encode("utf-8")))


def chat_text(r: Reminder) -> str:
    """Slack, Mattermost and Rocket.Chat all accept {"text": ...} with this markup."""
    return ENV.get_template("email/reminder_chat.txt").render(
        {"r": r, "occ": r.occurrence, "c": r.occurrence.commemoration,
         "countdown": countdown(r.days_left)}).strip()
