"""Chat webhooks: a JSON POST of {"text": ...}, which Slack, Mattermost and Rocket.Chat accept.

The address is a webhook URL: a subscriber's own (`subscribers add --webhook`), the global
channel's (CALENDAR_WEBHOOK_URL, a subscriber row of its own that every tick keeps in step
with the settings: reminders/subscribers.sync_global_webhook), or an agency's (`webhook` in
events/agencies.toml). So this channel needs no settings of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from ..models import WEBHOOK
from . import Letter, PermanentFailure, Recipient, TemporaryFailure, Unresponsive

if TYPE_CHECKING:
    from ...config import Settings

TIMEOUT = (5, 15)  # connect, read: a slow chat server must not stall the run


@dataclass(frozen=True, slots=True)
class ChatMessage:
    url: str
    text: str


class WebhookChannel:
    name = WEBHOOK

    def __init__(self, settings: Settings) -> None:
        pass

    def address(self, recipient: Recipient) -> str | None:
        return recipient.webhook_url

    def render(self, letter: Letter) -> ChatMessage:
        return ChatMessage(letter.address, letter.render("_chat.txt").strip())

    @contextmanager
    def open(self) -> Iterator[Callable[[ChatMessage], None]]:
        with requests.Session() as http:  # keeps connections to a chat server alive
            yield lambda message: post(http, message)


def post(http: requests.Session, message: ChatMessage) -> None:
    try:
        response = http.post(message.url, json={"text": message.text}, timeout=TIMEOUT)
    except requests.Timeout as exc:
        raise Unresponsive(f"webhook did not answer in time: {exc}") from exc
    except requests.RequestException as exc:
        raise TemporaryFailure(f"webhook unreachable: {exc.__class__.__name__}: {exc}") from exc
    if response.status_code < 300:
        return
    reason = f"webhook answered {response.status_code}: {response.text[:200]}"
    if response.status_code >= 500 or response.status_code in (408, 425, 429):
        raise TemporaryFailure(reason)
    raise PermanentFailure(reason)
