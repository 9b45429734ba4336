"""Signed tokens for one-click unsubscribe, and timed ones for sign-up confirmation links
(reminders/routes.py).

A token names one subscriber id *and* address, signed with the secret key: it cannot be
forged, and cannot be replayed for another address (a changed address no longer matches).
`secret` is one key, or a tuple of keys oldest first (`Settings.secret_keys`): the last
signs, any verifies — so links signed before a key rotation keep working while the old key
stays in CALENDAR_SECRET_KEY_FALLBACKS.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from itsdangerous import (
    BadSignature,
    TimestampSigner,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)

Keys = str | tuple[str, ...]


@lru_cache(maxsize=16)  # building one costs more than signing with it
def _serializer(secret: Keys, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=f"calendar-service:{purpose}")


def make_token(secret: Keys, purpose: str, subscriber_id: int, email: str) -> str:
    return _serializer(secret, purpose).dumps({"id": subscriber_id, "email": email.lower()})


def read_token(secret: Keys, purpose: str, token: str) -> tuple[int, str] | None:
    """(subscriber id, address) when the token is genuine, else None."""
    try:
        data = _serializer(secret, purpose).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), int) \
            or not isinstance(data.get("email"), str):
        return None
    return data["id"], data["email"]


CONFIRM_MAX_AGE = 7 * 24 * 3600  # a sign-up confirmation link works for a week


def _timed(secret: Keys, purpose: str, now: datetime) -> URLSafeTimedSerializer:
    """A timed serializer whose clock is `now`: links are signed and checked against the
    service's clock (replayable in tests and with --as-of), not the host's."""
    stamp = int(now.timestamp())

    class _Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return stamp

    return URLSafeTimedSerializer(secret, salt=f"calendar-service:{purpose}", signer=_Signer)


def make_timed_token(secret: Keys, purpose: str, subscriber_id: int, email: str,
                     now: datetime) -> str:
    return _timed(secret, purpose, now).dumps({"id": subscriber_id, "email": email.lower()})


def read_timed_token(secret: Keys, purpose: str, token: str, now: datetime,
                     max_age: int = CONFIRM_MAX_AGE) -> tuple[int, str] | None:
    try:
        data = _timed(secret, purpose, now).loads(token, max_age=max_age)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), int) \
            or not isinstance(data.get("email"), str):
        return None
    return data["id"], data["email"]


def _micros(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def make_confirm_token(secret: Keys, purpose: str, subscriber_id: int, email: str,
                       sent_at: datetime, now: datetime) -> str:
    """A sign-up confirmation link's token: the subscriber, the address, and the moment the
    confirmation was sent — the link works only while the subscriber's
    `confirmation_sent_at` is still that moment, so it is good for one use, and a newer
    link replaces it."""
    return _timed(secret, purpose, now).dumps(
        {"id": subscriber_id, "email": email.lower(), "sent": _micros(sent_at)})


def read_confirm_token(secret: Keys, purpose: str, token: str, now: datetime,
                       max_age: int = CONFIRM_MAX_AGE) -> tuple[int, str, int] | None:
    """(subscriber id, address, sent moment in µs) when genuine and not expired, else None."""
    try:
        data = _timed(secret, purpose, now).loads(token, max_age=max_age)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), int) \
            or not isinstance(data.get("email"), str) or not isinstance(data.get("sent"), int):
        return None
    return data["id"], data["email"], data["sent"]


def sent_matches(sent_at: datetime | None, stamp: int) -> bool:
    return sent_at is not None and _micros(sent_at) == stamp
