"""Reminder messages: a Vietnamese e-mail (plain text + HTML + .ics) and a chat text."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
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
MAIL_POLICY = policy.default.clone(max_line_length=998)


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


def build_email(r: Reminder, *, sender: str, sent_at: datetime, ics: bytes) -> EmailMessage:
    occ = r.occurrence
    context = {"r": r, "occ": occ, "c": occ.commemoration,
               "countdown": countdown(r.days_left)}
    # Long lines allowed (up to RFC 5322's 998): folding would otherwise encode the
    # List-Unsubscribe URL, which has no spaces, into an unreadable encoded-word.
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["Subject"] = subject(occ, r.days_left)
    msg["From"] = header_safe(sender)
    msg["To"] = formataddr((header_safe(r.recipient_name or ""), header_safe(r.recipient_email)))
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = header_safe(r.message_id)
    msg["List-Unsubscribe"] = f"<{header_safe(r.unsubscribe_url)}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(ENV.get_template("email/reminder.txt").render(context), charset="utf-8")
    msg.add_alternative(ENV.get_template("email/reminder.html").render(context),
                        subtype="html", charset="utf-8")
    msg.add_attachment(ics, maintype="text", subtype="calendar",
                       filename=f"{occ.id}-{occ.year}.ics", params={"charset": "utf-8"})
    return msg


def chat_text(r: Reminder) -> str:
    """Slack, Mattermost and Rocket.Chat all accept {"text": ...} with this markup."""
    return ENV.get_template("email/reminder_chat.txt").render(
        {"r": r, "occ": r.occurrence, "c": r.occurrence.commemoration,
         "countdown": countdown(r.days_left)}).strip()
