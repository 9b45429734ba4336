"""Reminder messages: a Vietnamese e-mail (plain text + HTML + .ics) and a chat text."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..anniversaries import Occurrence
from ..vietnamese import long_date, short_date

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
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


def build_email(r: Reminder, *, sender: str, sent_at: datetime, ics_b64: bytes) -> Outgoing:
    """multipart/mixed = multipart/alternative (text, HTML) + the occurrence as .ics.

    Headers are encoded with the standard library (email.header, email.utils); the MIME
    skeleton is written here because the email package's generator re-parses and re-folds
    every header, which cost 4 ms of a reminder's 5 (see BENCHMARKS.md). The suite parses
    every message with the standard library's strict parser.
    """
    occ = r.occurrence
    context = {"r": r, "occ": occ, "c": occ.commemoration,
               "countdown": countdown(r.days_left)}
    # Base64 never contains "=_", so such boundaries cannot collide with content.
    seed = hashlib.sha256(r.message_id.encode()).hexdigest()[:24]
    outer, inner = f"=_mixed_{seed}", f"=_alt_{seed}"
    filename = f"{occ.id}-{occ.year}.ics"
    recipient = header_safe(r.recipient_email)
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
        _b64(TEXT.render(context).encode("utf-8")),
        f"--{inner}\r\nContent-Type: text/html; charset=\"utf-8\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n".encode(),
        _b64(HTML.render(context).encode("utf-8")),
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
    headers = [
        ("Subject", Header("[Lịch kỷ niệm] Xác nhận đăng ký nhận nhắc lịch", "utf-8")
         .encode(linesep="\r\n")),
        ("From", header_safe(sender)),
        ("To", formataddr((header_safe(name or ""), header_safe(recipient)), charset="utf-8")),
        ("Date", format_datetime(sent_at)),
        ("Message-ID", mid),
        ("Auto-Submitted", "auto-generated"),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", "base64"),
    ]
    head = "".join(f"{n}: {v}\r\n" for n, v in headers).encode("ascii")
    return Outgoing(mid, header_safe(sender), header_safe(recipient),
                    head + b"\r\n" + _b64(text.encode("utf-8")))


def chat_text(r: Reminder) -> str:
    """Slack, Mattermost and Rocket.Chat all accept {"text": ...} with this markup."""
    return ENV.get_template("email/reminder_chat.txt").render(
        {"r": r, "occ": r.occurrence, "c": r.occurrence.commemoration,
         "countdown": countdown(r.days_left)}).strip()
