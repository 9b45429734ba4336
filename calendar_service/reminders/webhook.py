"""Chat webhooks: a JSON POST of {"text": ...}, which Slack, Mattermost and Rocket.Chat accept."""

from __future__ import annotations

import requests

from .transport import PermanentFailure, TemporaryFailure

TIMEOUT = (5, 15)  # connect, read: a slow chat server must not stall the batch


def post(session: requests.Session, url: str, text: str) -> None:
    try:
        response = session.post(url, json={"text": text}, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise TemporaryFailure(f"webhook unreachable: {exc.__class__.__name__}: {exc}") from exc
    if response.status_code < 300:
        return
    reason = f"webhook answered {response.status_code}: {response.text[:200]}"
    if response.status_code >= 500 or response.status_code in (408, 425, 429):
        raise TemporaryFailure(reason)
    raise PermanentFailure(reason)
