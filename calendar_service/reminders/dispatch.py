"""Delivering planned reminders, one at a time: claim a batch; for each delivery in it,
read it again, check that it still holds, render it, send it and record the result.

What keeps it correct:
- claiming moves rows from pending to sending in one transaction (`FOR UPDATE SKIP LOCKED`
  on PostgreSQL, one `UPDATE … RETURNING` on SQLite), so two dispatchers never take the
  same row;
- each result is committed before the next message is sent, so a crash repeats at most the
  one message in flight — with the same Message-ID, which mail clients collapse; a row a
  crash left in "sending" is released after STALE_CLAIM and sent again;
- claims are fenced: a delivery is read, and its result recorded, only while it is still
  "sending" under this run's claim (`claimed_at`, the run's moment). A run that held its
  batch longer than STALE_CLAIM (a mail server timing out on every message, say) may have
  had those rows released and taken by another run: it sends none of them any more, and
  what it was about to record does not overwrite the other run's result.

One thread, which meets the throughput targets (BENCHMARKS.md). A second thread could build
the next message during the SMTP conversation, but the old sender's needed the interpreter's
switch interval lowered for the whole process to get the GIL back in time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..anniversaries import Occurrence, occurrence_in
from ..app_context import Services
from ..feeds.ical import FeedSite, occurrence_calendar
from ..store import Database, occurrences_between
from ..store.models import CommemorationRow, UTCDateTime
from ..store.queries import StoredCommemoration, to_stored
from . import channels
from .channels import PermanentFailure, Reminder, Subscriber, TemporaryFailure
from .models import FAILED, PENDING, SENDING, SENT, SKIPPED, DeliveryRow, SubscriberRow
from .tokens import make_token

BATCH = 200
STALE_CLAIM = timedelta(minutes=15)
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
UNSUBSCRIBE = "unsubscribe"


class _Capped(list):
    """Counts everything (`total`), keeps the first LINES entries: a run's memory stays
    flat however many reminders it sends."""

    LINES = 1000

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def append(self, item: str) -> None:
        self.total += 1
        if len(self) < self.LINES:
            super().append(item)


@dataclass
class DispatchReport:
    sent: _Capped = field(default_factory=_Capped)
    skipped: _Capped = field(default_factory=_Capped)
    failed: _Capped = field(default_factory=_Capped)
    retrying: _Capped = field(default_factory=_Capped)
    # Claims another run took over (released as stale): not sent by this run — or, for the
    # one in flight when it happened, sent but not recorded over the other run's result.
    lost: _Capped = field(default_factory=_Capped)


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def message_id(commemoration_id: str, year: int, occurrence_date: date, lead_days: int,
               channel: str, email: str, host: str) -> str:
    """Deterministic per delivery: a repeated send carries the same id, clients collapse it."""
    who = hashlib.sha256(email.lower().encode()).hexdigest()[:16]
    return (f"<reminder.{commemoration_id}.{year}.{occurrence_date:%Y%m%d}.{lead_days}d."
            f"{channel}.{who}@{host}>")


def release_stale(session: Session, now: datetime) -> int:
    """Rows claimed by a dispatcher that died (or stalled) before recording a result."""
    result = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.status == SENDING, DeliveryRow.claimed_at < now - STALE_CLAIM)
        .values(status=PENDING)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def claim(session: Session, now: datetime, limit: int) -> list[int]:
    """Atomically take up to `limit` due pending rows for this run; `now` is the claim."""
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


# The claim fence: a delivery is read, and its result recorded, only while it is still
# "sending" under this run's claim. Both statements are built once (SQLAlchemy then reuses
# their compiled form) and run on their own, each its own transaction (see _connection).
_OURS = (DeliveryRow.id == bindparam("delivery_id"), DeliveryRow.status == SENDING,
         DeliveryRow.claimed_at == bindparam("claim"))

# A claimed delivery and its subscriber, as they are now.
LOAD = (select(DeliveryRow.commemoration_id, DeliveryRow.year, DeliveryRow.occurrence_date,
               DeliveryRow.lead_days, DeliveryRow.channel, DeliveryRow.attempts,
               SubscriberRow.receives.label("receives"), *Subscriber.columns())
        .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
        .where(*_OURS))

# A result (see _result).
RECORD = (update(DeliveryRow).where(*_OURS).values(
    status=bindparam("status"), last_error=bindparam("last_error"),
    # NULL (anything but a retry) keeps the column as it is.
    next_attempt_at=func.coalesce(bindparam("retry_at", type_=UTCDateTime()),
                                  DeliveryRow.next_attempt_at),
    sent_at=bindparam("sent_at", type_=UTCDateTime()), message_id=bindparam("message_id")))


def _result(status: str, error: str | None = None, *, retry_at: datetime | None = None,
            sent_at: datetime | None = None, message_id: str | None = None) -> dict:
    return {"status": status, "last_error": error, "retry_at": retry_at, "sent_at": sent_at,
            "message_id": message_id}


@contextmanager
def _connection(database: Database) -> Iterator[Connection]:
    """The run's connection for LOAD and RECORD. Each is one statement, so each commits on
    its own (autocommit): no BEGIN and COMMIT round trips around every message.

    On PostgreSQL its commits do not wait for the server's disk flush (synchronous_commit
    off: 0.2 ms a message here, BENCHMARKS.md). That changes nothing if this process
    crashes; if the PostgreSQL server itself crashes, the last fraction of a second of
    results can be lost, and those rows go back to pending after STALE_CLAIM: their
    messages are sent again, with the same Message-ID. Reset before the connection goes
    back to the pool."""
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SET synchronous_commit = off"))
        try:
            yield connection
        finally:
            if postgres:
                try:
                    connection.execute(text("RESET synchronous_commit"))
                except DBAPIError:  # the connection is broken: it is not reused
                    connection.invalidate()


class _Shared:
    """What the recipients of one occurrence share, read or built once per run: the
    commemoration (read again each batch, so a cancellation shows within one), the other
    commemorations of the next 30 days, the occurrence's .ics."""

    def __init__(self, services: Services, now: datetime) -> None:
        self.database = services.database
        self.site = FeedSite.from_settings(services.settings)
        self.today = now.astimezone(services.settings.tz).date()
        self.stored: dict[str, StoredCommemoration | None] = {}
        self._upcoming: list[Occurrence] | None = None
        self._calendars: dict[tuple[str, int, int], bytes] = {}

    def commemoration(self, ident: str) -> StoredCommemoration | None:
        if ident not in self.stored:
            with self.database.session() as session:
                row = session.get(CommemorationRow, ident)
                self.stored[ident] = None if row is None else to_stored(row)
        return self.stored[ident]

    def upcoming(self, occ: Occurrence) -> list[Occurrence]:
        if self._upcoming is None:
            with self.database.session() as session:
                self._upcoming = occurrences_between(session, self.today,
                                                     self.today + timedelta(days=30),
                                                     include_undated=False)
        return [o for o in self._upcoming if (o.id, o.year) != (occ.id, occ.year)]

    def calendar(self, occ: Occurrence, stored: StoredCommemoration) -> bytes:
        key = (occ.id, occ.year, stored.revision)
        if key not in self._calendars:
            self._calendars[key] = occurrence_calendar(occ, stored, self.site)
        return self._calendars[key]


def _still_due(row, stored: StoredCommemoration | None, today: date) -> tuple[
        Occurrence | None, str | None]:
    """Re-check at send time: the plan may be stale (cancelled, moved, unsubscribed)."""
    if not row.receives:
        return None, "subscriber unsubscribed or not confirmed"
    if stored is None or stored.cancelled:
        return None, "commemoration cancelled"
    occ = occurrence_in(stored.commemoration, row.year)
    if occ is None or occ.date != row.occurrence_date:
        return None, "occurrence date changed; a reminder for the new date is planned"
    if occ.date < today:
        return None, "occurrence already past"
    return occ, None


def dispatch(services: Services, now: datetime, *, batch: int = BATCH) -> DispatchReport:
    """Send every due pending delivery, `batch` claimed at a time."""
    report = DispatchReport()
    configured = channels.configured(services.settings)
    with ExitStack() as stack:
        # Every channel opened once for the run: a bad CALENDAR_MAIL_URL fails here, before
        # anything is claimed. Connections to servers are opened at the first message.
        senders = {name: stack.enter_context(channel.open())
                   for name, channel in configured.items()}
        run = _Run(services, now, stack.enter_context(_connection(services.database)),
                   configured, senders, report)
        with services.database.session() as session:
            release_stale(session, now)
        while True:
            with services.database.session() as session:
                ids = claim(session, now, batch)
            if not ids:
                break
            run.shared.stored.clear()  # commemorations are read again for each batch
            for delivery_id in ids:
                run.deliver(delivery_id)
    return report


@dataclass
class _Run:
    services: Services
    now: datetime  # also this run's claim on its rows
    connection: Connection
    channels: dict[str, channels.Channel]
    senders: dict[str, Callable[[Any], None]]
    report: DispatchReport

    def __post_init__(self) -> None:
        self.shared = _Shared(self.services, self.now)

    def deliver(self, delivery_id: int) -> None:
        """One claimed delivery: read it again, check that it still holds, render it, send
        it, record the result."""
        claim = {"delivery_id": delivery_id, "claim": self.now}
        row = self.connection.execute(LOAD, claim).one_or_none()
        if row is None:
            self.report.lost.append(f"delivery {delivery_id}")
            return
        label = f"{row.commemoration_id} {row.year} −{row.lead_days}d {row.channel} → {row.email}"
        stored = self.shared.commemoration(row.commemoration_id)
        occ, reason = _still_due(row, stored, self.shared.today)
        channel = self.channels.get(row.channel)
        subscriber = Subscriber.from_row(row)
        address = channel.address(subscriber) if channel is not None else None
        if reason is None and address is None:
            reason = f"no {row.channel} address any more"
        if reason is not None:
            result, lines = _result(SKIPPED, reason), self.report.skipped
        else:
            assert channel is not None and occ is not None and stored is not None
            reminder = self._reminder(row, occ, stored, subscriber, address)
            result, lines, reason = self._send(channel, reminder, row.attempts)
        if self.connection.execute(RECORD, {**claim, **result}).rowcount != 1:
            lines, reason = self.report.lost, "claim taken over by another run"
        lines.append(f"{label} ({reason})" if reason else label)

    def _reminder(self, row, occ: Occurrence, stored: StoredCommemoration,
                  subscriber: Subscriber, address: str) -> Reminder:
        settings, shared = self.services.settings, self.shared
        assert occ.date is not None
        token = make_token(settings.secret_key, UNSUBSCRIBE, subscriber.id, subscriber.email)
        return Reminder(
            occurrence=occ, days_left=(occ.date - shared.today).days, recipient=subscriber,
            address=address, event_url=shared.site.event_url(occ.id),
            unsubscribe_url=f"{settings.base_url}/unsubscribe/{token}",
            upcoming=shared.upcoming(occ), calendar=shared.calendar(occ, stored),
            message_id=message_id(row.commemoration_id, row.year, row.occurrence_date,
                                  row.lead_days, row.channel, subscriber.email,
                                  shared.site.host),
            sent_at=self.now)

    def _send(self, channel: channels.Channel, reminder: Reminder, attempts: int
              ) -> tuple[dict, _Capped, str | None]:
        """Render and send: the result to record, the report's list, the reason if any."""
        report = self.report
        try:
            self.senders[channel.name](channel.render(reminder))
        except TemporaryFailure as exc:
            error = str(exc)[:1000]
            if attempts >= MAX_ATTEMPTS:
                return (_result(FAILED, error), report.failed,
                        f"{error}; gave up after {attempts} tries")
            return (_result(PENDING, error, retry_at=self.now + backoff(attempts)),
                    report.retrying, error)
        except PermanentFailure as exc:
            error = str(exc)[:1000]
            return _result(FAILED, error), report.failed, error
        return (_result(SENT, sent_at=self.now, message_id=reminder.message_id), report.sent,
                None)
