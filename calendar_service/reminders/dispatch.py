"""Delivering planned reminders: claim atomically, send, record — one row at a time.

Claiming moves rows from pending to sending in one statement (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, `UPDATE … RETURNING` on SQLite), so two dispatchers never take the same row. Each
result is committed right after its send, so a crash loses nothing and repeats at most the
one message in flight — with the same Message-ID, which mail clients collapse. A row left in
"sending" by a crash is released after STALE_CLAIM and sent again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import requests
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session

from ..anniversaries import Occurrence, occurrence_in
from ..app_context import Services
from ..clock import today
from ..feeds.ical import FeedSite, build_calendar
from ..feeds.query import FeedQuery
from ..store import occurrences_between
from ..store.models import CommemorationRow, UTCDateTime
from ..store.queries import StoredCommemoration, to_stored
from . import webhook
from .messages import Reminder, build_email, chat_text, encoded_attachment, message_id
from .models import (
    EMAIL,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    WEBHOOK,
    DeliveryRow,
    SubscriberRow,
)
from .tokens import make_token
from .transport import PermanentFailure, TemporaryFailure, transport_from_url

BATCH = 200
STALE_CLAIM = timedelta(minutes=15)
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
UNSUBSCRIBE = "unsubscribe"


class _Capped(list):
    """Counts everything, keeps the first LINES entries: a run's memory stays flat."""

    LINES = 1000

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def append(self, item: str) -> None:
        self.count += 1
        if len(self) < self.LINES:
            super().append(item)


@dataclass
class DispatchReport:
    sent: _Capped = field(default_factory=_Capped)
    skipped: _Capped = field(default_factory=_Capped)
    failed: _Capped = field(default_factory=_Capped)
    retrying: _Capped = field(default_factory=_Capped)


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def release_stale(session: Session, now: datetime) -> int:
    """Rows claimed by a dispatcher that died before recording a result."""
    result = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.status == SENDING, DeliveryRow.claimed_at < now - STALE_CLAIM)
        .values(status=PENDING)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def claim(session: Session, now: datetime, limit: int) -> list[int]:
    """Atomically take up to `limit` due pending rows for this dispatcher."""
    params = {"now": now, "limit": limit}
    typed = (bindparam("now", type_=UTCDateTime()), bindparam("limit"))
    if session.connection().dialect.name == "postgresql":
        ids = list(session.scalars(text(
            "SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= :now "
            "ORDER BY due_at, id LIMIT :limit FOR UPDATE SKIP LOCKED").bindparams(*typed),
            params))
        if ids:
            session.execute(update(DeliveryRow).where(DeliveryRow.id.in_(ids)).values(
                status=SENDING, claimed_at=now, attempts=DeliveryRow.attempts + 1)
                .execution_options(synchronize_session=False))
        return ids
    return list(session.scalars(text(
        "UPDATE deliveries SET status = 'sending', claimed_at = :now, attempts = attempts + 1 "
        "WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' "
        "AND next_attempt_at <= :now ORDER BY due_at, id LIMIT :limit) RETURNING id")
        .bindparams(*typed), params))


class _Context:
    """What one dispatch run computes once and shares across its messages."""

    def __init__(self, services: Services, now: datetime) -> None:
        self.services = services
        self.now = now
        self.today = today(_At(services, now))
        s = services.settings
        self.site = FeedSite(s.base_url, s.timezone, s.feed_refresh)
        self._stored: dict[str, StoredCommemoration | None] = {}
        self._ics: dict[tuple[str, int], bytes] = {}
        self._upcoming: list[Occurrence] | None = None

    def stored(self, session: Session, ident: str) -> StoredCommemoration | None:
        if ident not in self._stored:
            row = session.get(CommemorationRow, ident)
            self._stored[ident] = None if row is None else to_stored(row)
        return self._stored[ident]

    def upcoming(self, session: Session, occ: Occurrence) -> list[Occurrence]:
        if self._upcoming is None:
            self._upcoming = occurrences_between(session, self.today,
                                                 self.today + timedelta(days=30),
                                                 include_undated=False)
        horizon = self.today + timedelta(days=30)
        return [o for o in self._upcoming
                if o.date and o.date <= horizon and (o.id, o.year) != (occ.id, occ.year)]

    def ics(self, occ: Occurrence, stored: StoredCommemoration) -> bytes:
        """The occurrence's .ics, base64-encoded once for all its recipients."""
        key = (occ.id, occ.year)
        if key not in self._ics:
            assert occ.date is not None
            self._ics[key] = encoded_attachment(build_calendar(
                [(occ, stored)], FeedQuery(year=occ.year), self.site, (occ.date, occ.date)))
        return self._ics[key]


class _At:
    """A clock frozen at the dispatch moment (for the local `today`)."""

    def __init__(self, services: Services, now: datetime) -> None:
        self.tz = services.clock.tz
        self._now = now

    def now(self) -> datetime:
        return self._now


def _still_valid(delivery: _Claimed, stored: StoredCommemoration | None,
                 today_: date) -> tuple[Occurrence | None, str | None]:
    """Re-check at send time: the plan may be stale (cancelled, moved, unsubscribed)."""
    if not delivery.receives:
        return None, "subscriber unsubscribed or not confirmed"
    if stored is None or stored.cancelled:
        return None, "commemoration cancelled"
    occ = occurrence_in(stored.commemoration, delivery.year)
    if occ is None or occ.date != delivery.occurrence_date:
        return None, "occurrence date changed; a reminder for the new date is planned"
    if occ.date < today_:
        return None, "occurrence already past"
    return occ, None


@dataclass(frozen=True, slots=True)
class _Claimed:
    """What sending one delivery needs, read in one query per batch."""

    id: int
    commemoration_id: str
    year: int
    occurrence_date: date
    lead_days: int
    channel: str
    attempts: int
    subscriber_id: int
    email: str
    name: str | None
    webhook_url: str | None
    receives: bool


def _load(session: Session, ids: list[int]) -> list[_Claimed]:
    rows = session.execute(
        select(DeliveryRow.id, DeliveryRow.commemoration_id, DeliveryRow.year,
               DeliveryRow.occurrence_date, DeliveryRow.lead_days, DeliveryRow.channel,
               DeliveryRow.attempts, SubscriberRow.id, SubscriberRow.email, SubscriberRow.name,
               SubscriberRow.webhook_url, SubscriberRow.active, SubscriberRow.confirmed_at)
        .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
        .where(DeliveryRow.id.in_(ids), DeliveryRow.status == SENDING)
        .order_by(DeliveryRow.due_at, DeliveryRow.id))
    return [_Claimed(*row[:11], receives=bool(row[11]) and row[12] is not None) for row in rows]


def dispatch(services: Services, now: datetime, *, batch: int = BATCH,
             max_batches: int | None = None) -> DispatchReport:
    report = DispatchReport()
    transport = transport_from_url(services.settings.mail_url)
    ctx = _Context(services, now)
    http = requests.Session()
    engine = services.database.engine
    with services.database.session() as session:
        release_stale(session, now)
    batches = 0
    try:
        with transport.connect() as mail:
            while max_batches is None or batches < max_batches:
                with services.database.session() as session:
                    ids = claim(session, now, batch)
                    claimed = _load(session, ids) if ids else []
                if not ids:
                    break
                batches += 1
                for d in claimed:
                    outcome = _deliver_one(d, ctx, mail, http, report)
                    # One short transaction per result: a crash repeats at most this one.
                    with engine.begin() as conn:
                        conn.execute(update(DeliveryRow).where(DeliveryRow.id == d.id)
                                     .values(**outcome))
    finally:
        http.close()
    return report


def _deliver_one(d: _Claimed, ctx: _Context, mail, http, report: DispatchReport) -> dict:
    """Send one delivery; return the columns that record what happened."""
    settings = ctx.services.settings
    label = f"{d.commemoration_id} {d.year} −{d.lead_days}d {d.channel} → {d.email}"
    with ctx.services.database.session() as session:
        stored = ctx.stored(session, d.commemoration_id)
        occ, reason = _still_valid(d, stored, ctx.today)
        upcoming = ctx.upcoming(session, occ) if occ is not None else []
    if occ is None:
        report.skipped.append(f"{label} ({reason})")
        return {"status": SKIPPED, "last_error": reason}
    assert occ.date is not None and stored is not None
    token = make_token(settings.secret_key, UNSUBSCRIBE, d.subscriber_id, d.email)
    reminder = Reminder(
        occurrence=occ,
        days_left=(occ.date - ctx.today).days,
        recipient_email=d.email,
        recipient_name=d.name,
        event_url=ctx.site.event_url(occ.id),
        unsubscribe_url=f"{settings.base_url}/unsubscribe/{token}",
        upcoming=upcoming,
        message_id=message_id(d.commemoration_id, d.year, d.occurrence_date, d.lead_days,
                              d.channel, d.email, ctx.site.host),
    )
    try:
        if d.channel == EMAIL:
            mail.send(build_email(reminder, sender=settings.mail_from, sent_at=ctx.now,
                                  ics_b64=ctx.ics(occ, stored)))
        elif d.channel == WEBHOOK and d.webhook_url:
            webhook.post(http, d.webhook_url, chat_text(reminder))
        else:
            report.skipped.append(f"{label} (no webhook)")
            return {"status": SKIPPED, "last_error": "no webhook configured any more"}
    except TemporaryFailure as exc:
        error = str(exc)[:1000]
        if d.attempts >= MAX_ATTEMPTS:
            report.failed.append(f"{label} ({error}; gave up after {d.attempts} tries)")
            return {"status": FAILED, "last_error": error}
        report.retrying.append(f"{label} ({error})")
        return {"status": PENDING, "last_error": error,
                "next_attempt_at": ctx.now + backoff(d.attempts)}
    except PermanentFailure as exc:
        error = str(exc)[:1000]
        report.failed.append(f"{label} ({error})")
        return {"status": FAILED, "last_error": error}
    report.sent.append(label)
    return {"status": SENT, "sent_at": ctx.now, "message_id": reminder.message_id,
            "last_error": None}


def iter_pending(session: Session, now: datetime) -> Iterator[DeliveryRow]:
    yield from session.scalars(select(DeliveryRow).where(
        DeliveryRow.status == PENDING, DeliveryRow.next_attempt_at <= now))
