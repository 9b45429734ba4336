"""Delivering planned notices, one at a time: claim a batch; for each delivery in it, let its
kind read it again and check that it still holds, render it, send it and record the result.

What keeps it correct, for every kind of notice:
- claiming moves rows from pending to sending in one transaction (`FOR UPDATE SKIP LOCKED`
  on PostgreSQL, one `UPDATE … RETURNING` on SQLite), so two dispatchers never take the
  same row;
- each result is committed before the next message is sent, so a crash repeats at most the
  one message in flight — with the same Message-ID, which mail clients collapse; a row a
  crash left in "sending" is released after STALE_CLAIM and sent again;
- a channel whose server takes connections but stops answering (MAX_TIMEOUTS_IN_A_ROW
  timeouts in a row) is not used again in the run: its remaining deliveries wait for a
  later run, retried with backoff, with the reason in the delivery log;
- claims are fenced: a delivery is read, and its result recorded, only while it is still
  "sending" under this run's claim (`claimed_at`, the run's moment). A run that held its
  batch longer than STALE_CLAIM (a mail server timing out on every message, say) may have
  had those rows released and taken by another run: it sends none of them any more, and
  what it was about to record does not overwrite the other run's result.

One thread. Building a message with EmailMessage takes about three times as long as its
SMTP conversation on a reused connection (BENCHMARKS.md): a second thread would have little
to overlap, and it would get the GIL back in time only with the interpreter's switch
interval changed for the whole process.

A feature that sends notices plans rows of its own `kind` and gives the dispatcher a `Kind`
(below) for them: reminders (reminders/delivering.py), task notices and digests
(plans/notices.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, func, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..app_context import Services
from ..metrics import DELIVERIES
from ..store import Database
from ..store.models import UTCDateTime
from . import channels
from .channels import Letter, PermanentFailure, TemporaryFailure, Unresponsive
from .models import FAILED, PENDING, SENDING, SENT, SKIPPED, DeliveryRow

BATCH = 200
STALE_CLAIM = timedelta(minutes=15)
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
# Consecutive timeouts after which a run stops using a channel: the rest of its deliveries
# wait for a later run (retried with backoff), instead of a timeout each.
MAX_TIMEOUTS_IN_A_ROW = 3


class _Capped(list):
    """Counts everything (`total`), keeps the first LINES entries: a run's memory stays
    flat however many notices it sends."""

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


@dataclass(frozen=True, slots=True)
class Prepared:
    """What a kind makes of one claimed delivery: a letter to send, or why not."""

    label: str  # how the report and the logs name it
    channel: str
    attempts: int
    letter: Letter | None = None
    skip: str | None = None  # the reason it is no longer to be sent


class Kind(Protocol):
    """One kind of notice (deliveries.kind = `name`). The dispatcher claims and records;
    the kind reads its row (through `run.load`, which keeps the claim fence), checks that
    it still holds, and writes the letter."""

    name: str

    def prepare(self, run: Run, delivery_id: int) -> Prepared | None:
        """The claimed delivery as a letter, or a skip reason; None when the claim is no
        longer this run's (`run.load` found nothing)."""
        ...


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def release_stale(session: Session, now: datetime) -> int:
    """Rows claimed by a dispatcher that died (or stalled) before recording a result."""
    result = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.status == SENDING, DeliveryRow.claimed_at < now - STALE_CLAIM)
        .values(status=PENDING)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def claim(session: Session, now: datetime, limit: int) -> list[tuple[int, str]]:
    """Atomically take up to `limit` due pending rows for this run; `now` is the claim.
    Returns (id, kind) pairs in the order they are due."""
    params = {"now": now, "limit": limit}
    typed = (bindparam("now", type_=UTCDateTime()), bindparam("limit"))
    if session.connection().dialect.name == "postgresql":
        rows = [tuple(r) for r in session.execute(text(
            "SELECT id, kind FROM deliveries WHERE status = 'pending' "
            "AND next_attempt_at <= :now ORDER BY due_at, id LIMIT :limit "
            "FOR UPDATE SKIP LOCKED").bindparams(*typed), params)]
        if rows:
            session.execute(update(DeliveryRow).where(DeliveryRow.id.in_(
                [ident for ident, _ in rows])).values(
                status=SENDING, claimed_at=now, attempts=DeliveryRow.attempts + 1)
                .execution_options(synchronize_session=False))
        return rows
    rows = [tuple(r) for r in session.execute(text(
        "UPDATE deliveries SET status = 'sending', claimed_at = :now, attempts = attempts + 1 "
        "WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' "
        "AND next_attempt_at <= :now ORDER BY due_at, id LIMIT :limit) RETURNING id, kind")
        .bindparams(*typed), params)]
    return rows


def ours(statement):
    """`statement` limited to the delivery this run still holds (the claim fence)."""
    return statement.where(DeliveryRow.id == bindparam("delivery_id"),
                           DeliveryRow.status == SENDING,
                           DeliveryRow.claimed_at == bindparam("claim"))


# A result (see _result). Built once: SQLAlchemy reuses its compiled form.
RECORD = ours(update(DeliveryRow)).values(
    status=bindparam("status"), last_error=bindparam("last_error"),
    # NULL (anything but a retry) keeps the column as it is.
    next_attempt_at=func.coalesce(bindparam("retry_at", type_=UTCDateTime()),
                                  DeliveryRow.next_attempt_at),
    sent_at=bindparam("sent_at", type_=UTCDateTime()), message_id=bindparam("message_id"))


def _result(status: str, error: str | None = None, *, retry_at: datetime | None = None,
            sent_at: datetime | None = None, message_id: str | None = None) -> dict:
    return {"status": status, "last_error": error, "retry_at": retry_at, "sent_at": sent_at,
            "message_id": message_id}


@contextmanager
def _connection(database: Database) -> Iterator[Connection]:
    """The run's connection for reading claimed rows and recording results. Each is one
    statement, so each commits on its own (autocommit): no BEGIN and COMMIT round trips
    around every message.

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


def dispatch(services: Services, now: datetime, kinds: Mapping[str, Kind], *,
             batch: int = BATCH) -> DispatchReport:
    """Send every due pending delivery, `batch` claimed at a time."""
    report = DispatchReport()
    configured = channels.configured(services.settings)
    with ExitStack() as stack:
        # Every channel opened once for the run: a bad CALENDAR_MAIL_URL fails here, before
        # anything is claimed. Connections to servers are opened at the first message.
        senders = {name: stack.enter_context(channel.open())
                   for name, channel in configured.items()}
        run = Run(services, now, stack.enter_context(_connection(services.database)),
                  configured, senders, report)
        with services.database.session() as session:
            release_stale(session, now)
        while True:
            with services.database.session() as session:
                claimed = claim(session, now, batch)
            if not claimed:
                break
            run.batch += 1  # kinds re-read what they cache once per batch
            for delivery_id, kind in claimed:
                run.deliver(delivery_id, kinds.get(kind))
    return report


@dataclass
class Run:
    """One dispatch run: its moment (also its claim on its rows), its connection, the
    configured channels and their open senders, and the report."""

    services: Services
    now: datetime
    connection: Connection
    channels: dict[str, channels.Channel]
    senders: dict[str, Callable[[Any], None]]
    report: DispatchReport
    batch: int = 0
    cache: dict[Any, Any] = field(default_factory=dict)  # for the kinds, per run
    timeouts: dict[str, int] = field(default_factory=dict)  # in a row, per channel
    given_up: dict[str, str] = field(default_factory=dict)  # channel -> why, for this run

    def load(self, statement, delivery_id: int):
        """The claimed row as `statement` (made with `ours`) reads it, or None when the
        claim is no longer this run's."""
        return self.connection.execute(statement, self._claim(delivery_id)).one_or_none()

    def _claim(self, delivery_id: int) -> dict:
        return {"delivery_id": delivery_id, "claim": self.now}

    def deliver(self, delivery_id: int, kind: Kind | None) -> None:
        """One claimed delivery: its kind prepares it, then it is sent and recorded."""
        if kind is None:
            prepared: Prepared | None = Prepared(f"delivery {delivery_id}", "", 0,
                                                 skip="no sender for this kind of notice")
        else:
            prepared = kind.prepare(self, delivery_id)
        kind_name = kind.name if kind is not None else "unknown"
        if prepared is None:
            self.report.lost.append(f"delivery {delivery_id}")
            DELIVERIES.labels(kind_name, "unknown", "lost").inc()
            return
        channel = self.channels.get(prepared.channel)
        reason = prepared.skip
        if reason is None and channel is None:
            reason = f"channel {prepared.channel!r} is not configured"
        if reason is not None:
            result, lines = _result(SKIPPED, reason), self.report.skipped
        elif prepared.channel in self.given_up:
            # The channel's server stopped answering: not tried again in this run.
            reason = self.given_up[prepared.channel]
            result = _result(PENDING, reason, retry_at=self.now + backoff(prepared.attempts))
            lines = self.report.retrying
        else:
            assert channel is not None and prepared.letter is not None
            result, lines, reason = self._send(channel, prepared.letter, prepared.attempts)
        if self.connection.execute(RECORD, {**self._claim(delivery_id), **result}
                                   ).rowcount != 1:
            lines, reason = self.report.lost, "claim taken over by another run"
        lines.append(f"{prepared.label} ({reason})" if reason else prepared.label)
        DELIVERIES.labels(kind_name, prepared.channel or "none", self._status(lines)).inc()

    def _status(self, lines: _Capped) -> str:
        """The metrics' name of the report list a delivery went to."""
        r = self.report
        for name, found in (("sent", r.sent), ("retrying", r.retrying), ("failed", r.failed),
                            ("skipped", r.skipped), ("lost", r.lost)):
            if lines is found:
                return name
        return "unknown"

    def _send(self, channel: channels.Channel, letter: Letter, attempts: int
              ) -> tuple[dict, _Capped, str | None]:
        """Render and send: the result to record, the report's list, the reason if any."""
        report = self.report
        try:
            self.senders[channel.name](channel.render(letter))
        except Unresponsive as exc:
            count = self.timeouts[channel.name] = self.timeouts.get(channel.name, 0) + 1
            if count >= MAX_TIMEOUTS_IN_A_ROW:
                self.given_up[channel.name] = (
                    f"{channel.name}: the server did not answer {count} times in a row; "
                    f"this run stopped using it ({str(exc)[:200]})")
            return self._temporary(exc, attempts)
        except TemporaryFailure as exc:
            self.timeouts[channel.name] = 0
            return self._temporary(exc, attempts)
        except PermanentFailure as exc:
            self.timeouts[channel.name] = 0
            error = str(exc)[:1000]
            return _result(FAILED, error), report.failed, error
        self.timeouts[channel.name] = 0
        return (_result(SENT, sent_at=self.now, message_id=letter.message_id), report.sent,
                None)

    def _temporary(self, exc: Exception, attempts: int) -> tuple[dict, _Capped, str]:
        """Retried with backoff, or failed for good after MAX_ATTEMPTS."""
        error = str(exc)[:1000]
        if attempts >= MAX_ATTEMPTS:
            return (_result(FAILED, error), self.report.failed,
                    f"{error}; gave up after {attempts} tries")
        return (_result(PENDING, error, retry_at=self.now + backoff(attempts)),
                self.report.retrying, error)
