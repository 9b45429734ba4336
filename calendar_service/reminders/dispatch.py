"""Delivering planned reminders: claim atomically, send, record — one row at a time.

Claiming moves rows from pending to sending in one statement (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, `UPDATE … RETURNING` on SQLite), so two dispatchers never take the same row. Each
result is committed in its own transaction before the next message can be accepted: while
the mail server reads the next message's body, before the final "." (so the commit adds no
wait of its own), or at once when no message follows. A crash therefore loses nothing and
repeats at most one message — with the same Message-ID, which mail clients collapse. A row
left in "sending" by a crash is released after STALE_CLAIM and sent again.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import requests
from sqlalchemy import String, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from ..anniversaries import Occurrence, occurrence_in
from ..app_context import Services
from ..feeds.ical import FeedSite, occurrence_calendar
from ..store import occurrences_between
from ..store.models import CommemorationRow, UTCDateTime
from ..store.queries import StoredCommemoration, to_stored
from . import webhook
from .messages import Letter, Reminder, build_email, chat_text, encoded_attachment, message_id
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
from .subscribers import SubscriberError
from .tokens import make_token
from .transport import PermanentFailure, TemporaryFailure, transport_from_url

BATCH = 200
SWITCH_INTERVAL = 0.0002  # seconds; see dispatch()
CHUNK = 16  # rendered messages handed to the sender at a time: one thread wake-up per chunk
QUEUE = 2  # chunks waiting for the sender: enough to overlap
STALE_CLAIM = timedelta(minutes=15)
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
UNSUBSCRIBE = "unsubscribe"


class _Capped(list):
    """Counts everything (`total`), keeps the first LINES entries: a run's memory stays
    flat. (Not `count`: that would shadow list.count.)"""

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
        self.today = now.astimezone(services.settings.tz).date()
        self.site = FeedSite.from_settings(services.settings)
        self._stored: dict[str, StoredCommemoration | None] = {}
        self._ics: dict[tuple[str, int], bytes] = {}
        self._letters: dict[tuple[str, int, int], Letter] = {}
        self._upcoming: list[Occurrence] | None = None
        self._upcoming_for: dict[tuple[str, int], list[Occurrence]] = {}

    def prefetch(self, session: Session, idents: set[str]) -> None:
        """Read, once per run, what a batch's messages need from the store."""
        for ident in idents - self._stored.keys():
            row = session.get(CommemorationRow, ident)
            self._stored[ident] = None if row is None else to_stored(row)
        if self._upcoming is None:
            self._upcoming = occurrences_between(session, self.today,
                                                 self.today + timedelta(days=30),
                                                 include_undated=False)

    def cached(self, ident: str) -> StoredCommemoration | None:
        return self._stored.get(ident)

    def upcoming_for(self, occ: Occurrence) -> list[Occurrence]:
        """The other commemorations of the next 30 days."""
        key = (occ.id, occ.year)
        if key not in self._upcoming_for:
            self._upcoming_for[key] = [o for o in self._upcoming or ()
                                       if (o.id, o.year) != key]
        return self._upcoming_for[key]

    def letter(self, r: Reminder) -> Letter:
        """The bodies every recipient of this occurrence and lead time shares."""
        key = (r.occurrence.id, r.occurrence.year, r.days_left)
        if key not in self._letters:
            self._letters[key] = Letter.render(r)
        return self._letters[key]

    def ics(self, occ: Occurrence, stored: StoredCommemoration) -> bytes:
        """The occurrence's .ics, base64-encoded once for all its recipients."""
        key = (occ.id, occ.year)
        if key not in self._ics:
            assert occ.date is not None
            self._ics[key] = encoded_attachment(occurrence_calendar(occ, stored, self.site))
        return self._ics[key]


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
               SubscriberRow.webhook_url, SubscriberRow.receives)
        .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
        .where(DeliveryRow.id.in_(ids), DeliveryRow.status == SENDING)
        .order_by(DeliveryRow.due_at, DeliveryRow.id))
    return [_Claimed(*row[:11], receives=bool(row[11])) for row in rows]


# One compiled statement records every outcome: NULL keeps a column as it was.
RECORD = (
    update(DeliveryRow)
    .where(DeliveryRow.id == bindparam("did"))
    .values(
        status=bindparam("status"),
        last_error=bindparam("last_error"),
        next_attempt_at=func.coalesce(bindparam("next_at", type_=UTCDateTime()),
                                      DeliveryRow.next_attempt_at),
        sent_at=func.coalesce(bindparam("sent_at", type_=UTCDateTime()), DeliveryRow.sent_at),
        message_id=func.coalesce(bindparam("mid", type_=String()), DeliveryRow.message_id),
    )
)


class _Recorder:
    """Writes one result and commits, on one connection held for the whole run.

    The statement is RECORD compiled once for the dialect and run on the driver's cursor:
    at hundreds of messages a second, SQLAlchemy's per-call overhead was a third of the
    sender's time. Values go through each column type's own bind processing (UTC datetimes).
    """

    def __init__(self, engine) -> None:
        self.engine = engine

    def __enter__(self) -> _Recorder:
        dialect = self.engine.dialect
        compiled = RECORD.compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = bool(compiled.positional)
        self.names = list(compiled.positiontup if self.positional else compiled.binds)
        moment = UTCDateTime().bind_processor(dialect)
        self.process = {name: moment if name in ("next_at", "sent_at") else None
                        for name in self.names}
        self.connection = self.engine.raw_connection()
        self.postgres = dialect.name == "postgresql"
        if self.postgres:
            # Results are committed one by one so that a crash of *this process* repeats at
            # most the message in flight; the commits need not wait for PostgreSQL's disk
            # flush for that (it costs 0.4–0.6 ms a message). Only a crash of the database
            # server itself could lose the last fraction of a second of results: those
            # messages would be sent again, with the same Message-ID. Reset before the
            # connection goes back to the pool.
            self._run("SET synchronous_commit = off")
            # Each UPDATE is its own transaction anyway: autocommit saves the COMMIT's
            # round trip.
            self.connection.driver_connection.autocommit = True
        return self

    def _run(self, sql: str) -> None:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()
        self.connection.commit()

    def __call__(self, delivery_id: int, outcome: dict) -> None:
        values = {"did": delivery_id, "next_at": None, "sent_at": None, "mid": None, **outcome}
        params = {name: (fn(values[name]) if (fn := self.process[name]) and values[name]
                         is not None else values[name]) for name in self.names}
        cursor = self.connection.cursor()
        try:
            cursor.execute(self.sql, [params[n] for n in self.names] if self.positional
                           else params)
        finally:
            cursor.close()
        if not self.postgres:
            self.connection.commit()

    def __exit__(self, *exc) -> None:
        try:
            if self.postgres:
                self.connection.driver_connection.autocommit = False
                self._run("RESET synchronous_commit")
        finally:
            self.connection.close()


@dataclass
class _Job:
    """One claimed delivery, rendered and ready; `send` is None when it is to be skipped."""

    id: int
    label: str
    channel: str
    attempts: int
    send: Callable | None
    message_id: str | None = None
    skip_reason: str | None = None
    fail_reason: str | None = None  # cannot be sent at all (the address, say)


class _Sender(threading.Thread):
    """Sends and records, one job at a time, while the dispatcher renders the next ones.

    The sender owns the SMTP connection and commits each result before the next message
    can be accepted (see the module's docstring), so a crash still repeats at most one
    message; jobs waiting in the (small) queue are only claimed, not sent, and are released
    as stale and sent later.
    """

    def __init__(self, services: Services, transport, now: datetime,
                 report: DispatchReport) -> None:
        super().__init__(name="reminder-sender", daemon=True)
        self.engine = services.database.engine
        self.transport = transport
        self.now = now
        self.report = report
        self.jobs: queue.Queue[list[_Job] | None] = queue.Queue(maxsize=QUEUE)
        self.error: BaseException | None = None

    def put(self, jobs: list[_Job] | None) -> None:
        while True:
            if self.error is not None or not self.is_alive():
                raise RuntimeError("the reminder sender stopped") from self.error
            try:
                self.jobs.put(jobs, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        if self.is_alive():
            self.put(None)
            self.join()
        if self.error is not None:
            raise self.error

    def run(self) -> None:
        try:
            with self.transport.connect() as mail, requests.Session() as http, \
                    _Recorder(self.engine) as record:
                unwritten: tuple[int, dict] | None = None

                def write() -> None:
                    nonlocal unwritten
                    if unwritten is not None:
                        done, unwritten = unwritten, None
                        record(*done)

                while True:
                    try:
                        jobs = self.jobs.get_nowait()
                    except queue.Empty:
                        write()  # never wait for work with a result unwritten
                        jobs = self.jobs.get()
                    if jobs is None:
                        break
                    for job in jobs:
                        try:
                            outcome = self._perform(job, mail, http, write)
                        finally:
                            write()  # if the transport did not get to it
                        unwritten = (job.id, outcome)
                write()
        except BaseException as exc:  # noqa: BLE001 - reported to the dispatcher
            self.error = exc
            while True:  # unblock a dispatcher waiting to put
                try:
                    self.jobs.get_nowait()
                except queue.Empty:
                    break

    def _perform(self, job: _Job, mail, http, write: Callable[[], None]) -> dict:
        """Send one job; `write` records the previous job's result and must run before
        this one can be delivered (an e-mail transport runs it while the server reads the
        body, before the final dot)."""
        report = self.report
        if job.fail_reason is not None:
            report.failed.append(f"{job.label} ({job.fail_reason})")
            return {"status": FAILED, "last_error": job.fail_reason}
        if job.send is None:
            report.skipped.append(f"{job.label} ({job.skip_reason})")
            return {"status": SKIPPED, "last_error": job.skip_reason}
        try:
            job.send(mail, http, write)
        except TemporaryFailure as exc:
            error = str(exc)[:1000]
            if job.attempts >= MAX_ATTEMPTS:
                report.failed.append(f"{job.label} ({error}; gave up after {job.attempts} tries)")
                return {"status": FAILED, "last_error": error}
            report.retrying.append(f"{job.label} ({error})")
            return {"status": PENDING, "last_error": error,
                    "next_at": self.now + backoff(job.attempts)}
        except PermanentFailure as exc:
            error = str(exc)[:1000]
            report.failed.append(f"{job.label} ({error})")
            return {"status": FAILED, "last_error": error}
        report.sent.append(job.label)
        return {"status": SENT, "last_error": None, "sent_at": self.now, "mid": job.message_id}


def dispatch(services: Services, now: datetime, *, batch: int = BATCH,
             max_batches: int | None = None) -> DispatchReport:
    report = DispatchReport()
    ctx = _Context(services, now)
    with services.database.session() as session:
        release_stale(session, now)
    sender = _Sender(services, transport_from_url(services.settings.mail_url), now, report)
    # The sender wakes for each server reply while this thread renders; with Python's default
    # 5 ms switch interval it would wait for the GIL longer than the reply took to come.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
    sender.start()
    batches = 0
    try:
        while max_batches is None or batches < max_batches:
            with services.database.session() as session:
                ids = claim(session, now, batch)
                claimed = _load(session, ids) if ids else []
                ctx.prefetch(session, {d.commemoration_id for d in claimed})
            if not ids:
                break
            batches += 1
            for start in range(0, len(claimed), CHUNK):
                sender.put([_prepare(d, ctx) for d in claimed[start:start + CHUNK]])
    finally:
        try:
            sender.close()
        finally:
            sys.setswitchinterval(interval)
    return report


def _prepare(d: _Claimed, ctx: _Context) -> _Job:
    """Check that the delivery still holds, and render it (in the dispatcher's thread)."""
    settings = ctx.services.settings
    label = f"{d.commemoration_id} {d.year} −{d.lead_days}d {d.channel} → {d.email}"
    stored = ctx.cached(d.commemoration_id)
    occ, reason = _still_valid(d, stored, ctx.today)
    if occ is None:
        return _Job(d.id, label, d.channel, d.attempts, None, skip_reason=reason)
    assert occ.date is not None and stored is not None
    token = make_token(settings.secret_key, UNSUBSCRIBE, d.subscriber_id, d.email)
    reminder = Reminder(
        occurrence=occ,
        days_left=(occ.date - ctx.today).days,
        recipient_email=d.email,
        recipient_name=d.name,
        event_url=ctx.site.event_url(occ.id),
        unsubscribe_url=f"{settings.base_url}/unsubscribe/{token}",
        upcoming=ctx.upcoming_for(occ),
        message_id=message_id(d.commemoration_id, d.year, d.occurrence_date, d.lead_days,
                              d.channel, d.email, ctx.site.host),
    )
    if d.channel == EMAIL:
        try:
            outgoing = build_email(reminder, sender=settings.mail_from, sent_at=ctx.now,
                                   ics_b64=ctx.ics(occ, stored), letter=ctx.letter(reminder))
        except SubscriberError as exc:  # stored before addresses were checked for this
            return _Job(d.id, label, d.channel, d.attempts, None, fail_reason=str(exc))

        def send(mail, http, write: Callable[[], None]) -> None:
            mail.send(outgoing, meanwhile=write)
    elif d.channel == WEBHOOK and d.webhook_url:
        url, text = d.webhook_url, chat_text(reminder)

        def send(mail, http, write: Callable[[], None]) -> None:
            write()
            webhook.post(http, url, text)
    else:
        return _Job(d.id, label, d.channel, d.attempts, None,
                    skip_reason="no webhook configured any more")
    return _Job(d.id, label, d.channel, d.attempts, send, message_id=reminder.message_id)
