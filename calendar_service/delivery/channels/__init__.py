"""Channels: the ways a notice reaches people — e-mail and chat webhooks today.

A channel is one module with a class implementing `Channel` (below), listed in CHANNELS at
the end of this file. A channel turns a `Letter` — one notice for one recipient, whatever its
kind (a commemoration reminder, a task notice, an agency's weekly digest) — into its own kind
of message, and sends it. It never touches the database: claims, retries, backoff and the
record of results are the dispatcher's (dispatch.py), the same for every channel and kind.

To add a channel (say Zalo):
1. write `channels/zalo.py` with a class implementing `Channel`: its `name` (stored in
   deliveries.channel), `address` (where a subscriber receives it, or None), `render`
   (one letter → one message) and `open` (a run's connection, yielding `send`); it raises
   TemporaryFailure or PermanentFailure, and the dispatcher does the rest;
2. add the class to CHANNELS;
3. give it its settings (a `CALENDAR_ZALO_…` variable in config.py), read in its
   constructor, which receives the Settings. If the address lives on the subscriber, that
   is a column of the subscribers table (a migration) and a field of `Recipient` below.
`webhook.py` is the shortest complete example.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ...resources import TEMPLATES
from ...vietnamese import long_date, official_date

if TYPE_CHECKING:
    from ...config import Settings


class TemporaryFailure(Exception):
    """Try again later: 4xx, a refused or lost connection, a timeout, a webhook's 5xx."""


class Unresponsive(TemporaryFailure):
    """The server took the connection but did not answer within the channel's timeout. A
    few in a row and the dispatcher stops using the channel for the rest of the run (a mail
    server that never answers would otherwise cost a timeout per message)."""


class PermanentFailure(Exception):
    """Retrying will not help: 5xx, an unknown recipient, an address the channel cannot
    carry. The delivery is marked failed with this reason."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """What a channel may read about whom it writes to: a subscriber (these columns of the
    subscribers table) or an agency's contact."""

    email: str
    name: str | None
    webhook_url: str | None = None
    email_enabled: bool = True  # False only for the global chat channel (webhook only)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "text"
    subtype: str = "calendar"


@dataclass(frozen=True)
class Letter:
    """One notice to one recipient, ready for any channel. Its words come from the templates
    `templates/<template>.txt` and `.html` (e-mail) and `<template>_chat.txt` (chat), which
    each channel renders with `context` — only the parts it sends."""

    template: str  # e.g. "email/reminder"
    context: Mapping[str, Any]
    subject: str
    address: str  # where the channel delivers it
    recipient_name: str | None
    message_id: str  # deterministic: a repeated send carries the same id
    sent_at: datetime  # the dispatch run's moment
    unsubscribe_url: str | None = None  # one-click unsubscribe (RFC 8058), when there is one
    attachments: tuple[Attachment, ...] = field(default=())

    def render(self, suffix: str) -> str:
        return ENV.get_template(f"{self.template}{suffix}").render(self.context)


class Channel(Protocol):
    """One way of delivering notices. Instances are made per tick from the settings."""

    name: str
    """Stored in deliveries.channel, part of the unique keys that make a notice "sent
    once": never rename it."""

    def address(self, recipient: Recipient) -> str | None:
        """Where `recipient` receives notices on this channel; None: not on this one.
        Asked when planning, and again before sending (it may have been removed)."""
        ...

    def render(self, letter: Letter) -> Any:
        """The message for one recipient, whatever `send` takes. Raises PermanentFailure
        when no message can be made for this address."""
        ...

    def open(self) -> AbstractContextManager[Callable[[Any], None]]:
        """Once per dispatch run: a context yielding `send(message)`, which delivers one
        rendered message or raises TemporaryFailure or PermanentFailure. Connections are
        opened on the first send, kept for the run, and closed on leaving. Raises
        ValueError at once when the channel's settings are unusable."""
        ...


# --- Templates (templates/email/), shared by the channels and the kinds of notice ------------

ENV = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
ENV.filters["official_date"] = official_date
ENV.filters["long_date"] = long_date


def countdown(days_left: int) -> str:
    return "Hôm nay" if days_left == 0 else f"Còn {days_left} ngày"




# --- The registry ----------------------------------------------------------------------------
# Imported here, after the interface, which the channel modules import from this package.

from .email import EmailChannel  # noqa: E402
from .webhook import WebhookChannel  # noqa: E402

CHANNELS: tuple[Callable[[Settings], Channel], ...] = (EmailChannel, WebhookChannel)


def configured(settings: Settings) -> dict[str, Channel]:
    """Every channel, made from the settings, by name."""
    channels = [make(settings) for make in CHANNELS]
    return {channel.name: channel for channel in channels}
