"""Channels: the ways a reminder reaches people — e-mail and chat webhooks today.

A channel is one module with a class implementing `Channel` (below), listed in CHANNELS at
the end of this file. The planner asks every channel for each subscriber's address on it and
plans one delivery per channel that has one; the dispatcher (dispatch.py) opens every
channel once per run, and for each delivery it claimed asks the delivery's channel to render
the reminder and send it. A channel never touches the database: claims, retries, backoff and
the record of results are the dispatcher's, the same for every channel.

To add a channel (say Zalo):
1. write `channels/zalo.py` with a class implementing `Channel`: its `name` (stored in
   deliveries.channel), `address` (where a subscriber receives it, or None), `render`
   (one reminder → one message) and `open` (a run's connection, yielding `send`); it raises
   TemporaryFailure or PermanentFailure, and the dispatcher does the rest;
2. add the class to CHANNELS;
3. give it its settings (a `CALENDAR_ZALO_…` variable in config.py), read in its
   constructor, which receives the Settings. If the address lives on the subscriber, that
   is a column of the subscribers table (a migration) and a field of `Subscriber` below.
`webhook.py` is the shortest complete example.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ...anniversaries import Occurrence
from ...resources import TEMPLATES
from ...vietnamese import long_date, short_date
from ..models import SubscriberRow

if TYPE_CHECKING:
    from ...config import Settings


class TemporaryFailure(Exception):
    """Try again later: 4xx, a refused or lost connection, a timeout, a webhook's 5xx."""


class PermanentFailure(Exception):
    """Retrying will not help: 5xx, an unknown recipient, an address the channel cannot
    carry. The delivery is marked failed with this reason."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    """What a channel may read about a subscriber: these columns of the subscribers table."""

    id: int
    email: str
    name: str | None
    webhook_url: str | None
    email_enabled: bool  # False only for the global chat channel (webhook only)

    @classmethod
    def columns(cls) -> tuple:
        return (SubscriberRow.id, SubscriberRow.email, SubscriberRow.name,
                SubscriberRow.webhook_url, SubscriberRow.email_enabled)

    @classmethod
    def from_row(cls, row) -> Subscriber:
        """From a row selected with `columns()` (by name: other columns may come along)."""
        return cls(row.id, row.email, row.name, row.webhook_url, bool(row.email_enabled))


@dataclass(frozen=True, slots=True)
class Reminder:
    """One delivery, ready to render: one occurrence, one lead time, one recipient."""

    occurrence: Occurrence
    days_left: int
    recipient: Subscriber
    address: str  # where the channel delivers it: its `address(recipient)`
    event_url: str
    unsubscribe_url: str
    upcoming: Sequence[Occurrence]  # the other commemorations of the next 30 days
    calendar: bytes  # the occurrence as an .ics file
    message_id: str  # deterministic: a repeated send carries the same id
    sent_at: datetime  # the dispatch run's moment

    # The templates' names for the recipient.
    @property
    def recipient_email(self) -> str:
        return self.recipient.email

    @property
    def recipient_name(self) -> str | None:
        return self.recipient.name


class Channel(Protocol):
    """One way of delivering reminders. Instances are made per tick from the settings."""

    name: str
    """Stored in deliveries.channel, part of the unique key that makes a reminder "sent
    once": never rename it."""

    def address(self, subscriber: Subscriber) -> str | None:
        """Where `subscriber` receives reminders on this channel; None: not on this one.
        Asked when planning, and again before sending (it may have been removed)."""
        ...

    def render(self, reminder: Reminder) -> Any:
        """The message for one recipient, whatever `send` takes. Raises PermanentFailure
        when no message can be made for this address."""
        ...

    def open(self) -> AbstractContextManager[Callable[[Any], None]]:
        """Once per dispatch run: a context yielding `send(message)`, which delivers one
        rendered message or raises TemporaryFailure or PermanentFailure. Connections are
        opened on the first send, kept for the run, and closed on leaving. Raises
        ValueError at once when the channel's settings are unusable."""
        ...


# --- Templates (templates/email/), shared by the channels -----------------------------------

ENV = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
ENV.filters["short_date"] = short_date
ENV.filters["long_date"] = long_date


def countdown(days_left: int) -> str:
    return "Hôm nay" if days_left == 0 else f"Còn {days_left} ngày"


def render_template(name: str, reminder: Reminder) -> str:
    """A reminder template rendered for one recipient: it sees the reminder as `r` (so
    `r.recipient_name`, `r.unsubscribe_url`, …), the occurrence as `occ`, its commemoration
    as `c`, and `countdown` ("Còn 7 ngày")."""
    occ = reminder.occurrence
    return ENV.get_template(name).render(r=reminder, occ=occ, c=occ.commemoration,
                                         countdown=countdown(reminder.days_left))


# --- The registry ----------------------------------------------------------------------------
# Imported here, after the interface, which the channel modules import from this package.

from .email import EmailChannel  # noqa: E402
from .webhook import WebhookChannel  # noqa: E402

CHANNELS: tuple[Callable[[Settings], Channel], ...] = (EmailChannel, WebhookChannel)


def configured(settings: Settings) -> dict[str, Channel]:
    """Every channel, made from the settings, by name."""
    channels = [make(settings) for make in CHANNELS]
    return {channel.name: channel for channel in channels}
