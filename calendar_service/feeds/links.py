"""Subscribe links: webcal:// for Apple Calendar and Outlook, https:// for Google Calendar."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit


def feed_url(base_url: str, **params: str) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{base_url}/calendar.ics" + (f"?{query}" if query else "")


def webcal_url(base_url: str, **params: str) -> str:
    parts = urlsplit(feed_url(base_url, **params))
    return urlunsplit(("webcal", *parts[1:]))


def google_subscribe_url(base_url: str, **params: str) -> str:
    return "https://calendar.google.com/calendar/render?" + urlencode(
        {"cid": webcal_url(base_url, **params)})
