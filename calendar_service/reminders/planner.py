"""Planning: which reminders are due at a moment, computed from database state alone.

Every tick recomputes the plan; the deliveries table remembers what was already planned, so
a tick after a restart, or a second scheduler, plans nothing twice (unique key + ON CONFLICT
DO NOTHING). Rules:
- a reminder for lead time L is due at `send_time` local time, L days before the occurrence;
- only occurrences today or ahead get reminders; cancelled commemorations get none;
- when several lead times of one occurrence are due at once (the service was down), only the
  nearest is sent; the others are recorded as skipped, so they are never sent later.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from sqlalchemy import and_, exists, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from ..anniversaries import Occurrence
from ..catalogue.model import MAX_LEAD_DAYS
from ..delivery.channels import Channel, Recipient
from ..delivery.models import PENDING, SKIPPED, DeliveryRow
from ..store import occurrences_between
from .models import SCOPE_NOTABLE, SubscriberRow

CHUNK = 2000  # subscribers planned together
SUPERSEDED = "superseded by a nearer reminder of the same occurrence"
MISSED = "missed while the service was down; a nearer reminder was sent instead"


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A subscriber as planning sees them: what they want, on which channels."""

    id: int
    categories: frozenset[str] | None
    scope: str
    lead_days: tuple[int, ...] | None
    channels: tuple[str, ...]

    def wants(self, occ: Occurrence) -> bool:
        if self.categories is not None and occ.commemoration.category not in self.categories:
            return False
        if self.scope == SCOPE_NOTABLE and not (occ.designated or occ.is_round):
            return False
        return True


@dataclass
class PlanReport:
    planned: int = 0  # new pending rows
    skipped: int = 0  # new or existing rows skipped in favour of a nearer one
    due: list[tuple[int, str, int, date, int, str]] = field(default_factory=list)


def due_at(occurrence_date: date, lead_days: int, send_time: time, tz: tzinfo) -> datetime:
    local = datetime.combine(occurrence_date - timedelta(days=lead_days), send_time, tz)
    return local.astimezone(timezone.utc)


def recipients(session: Session, channels: Sequence[Channel], *, after: int = 0,
               limit: int = CHUNK) -> list[Subscriber]:
    """Up to `limit` subscribers who receive reminders, by id, from after `after`, each with
    the channels that have an address for them: planning reads them a page at a time, so
    its memory does not grow with their number."""
    query = select(SubscriberRow.id, SubscriberRow.categories, SubscriberRow.scope,
                   SubscriberRow.lead_days, SubscriberRow.email, SubscriberRow.name,
                   SubscriberRow.webhook_url, SubscriberRow.email_enabled).where(
        SubscriberRow.receives, SubscriberRow.id > after).order_by(SubscriberRow.id).limit(limit)
    people = []
    for row in session.execute(query):
        recipient = Recipient(row.email, row.name, row.webhook_url, bool(row.email_enabled))
        people.append(Subscriber(
            row.id, frozenset(row.categories) if row.categories else None, row.scope,
            tuple(row.lead_days) if row.lead_days else None,
            tuple(c.name for c in channels if c.address(recipient) is not None)))
    return people


def _rows(occs: list[Occurrence], people: list[Subscriber], as_of: datetime, send_time: time,
          tz: tzinfo) -> Iterator[dict]:
    for occ in occs:
        assert occ.date is not None
        # Subscribers without personal lead times share the occurrence's; compute once.
        decisions: dict[tuple[int, ...], tuple[int, list[int]] | None] = {}
        for person in people:
            if not person.wants(occ):
                continue
            leads = person.lead_days or occ.lead_days
            if leads not in decisions:
                due = [lead for lead in leads if due_at(occ.date, lead, send_time, tz) <= as_of]
                decisions[leads] = (min(due), [d for d in due if d != min(due)]) if due else None
            decision = decisions[leads]
            if decision is None:
                continue
            nearest, missed = decision
            for channel in person.channels:
                for lead, status in ((nearest, PENDING), *((m, SKIPPED) for m in missed)):
                    yield {
                        "subscriber_id": person.id,
                        "commemoration_id": occ.id,
                        "year": occ.year,
                        "occurrence_date": occ.date,
                        "lead_days": lead,
                        "channel": channel,
                        "due_at": due_at(occ.date, lead, send_time, tz),
                        "status": status,
                        "attempts": 0,
                        "next_attempt_at": as_of.astimezone(timezone.utc),
                        "last_error": None if status == PENDING else MISSED,
                        "created_at": as_of.astimezone(timezone.utc),
                    }


def _insert_new(session: Session, rows: list[dict], subscriber_ids: list[int]) -> list[dict]:
    """Insert rows whose key is new; ON CONFLICT DO NOTHING settles races with another
    planner. Returns the rows this call inserted."""
    if not rows:
        return []
    key = (DeliveryRow.subscriber_id, DeliveryRow.commemoration_id, DeliveryRow.year,
           DeliveryRow.occurrence_date, DeliveryRow.lead_days, DeliveryRow.channel)
    occurrences_keys = {(r["commemoration_id"], r["year"]) for r in rows}
    # Only rows that could clash: the earlier lead times of these occurrences (tens of
    # thousands of rows once a year has passed) are not read back.
    existing = set(session.execute(select(*key).where(
        DeliveryRow.subscriber_id.in_(subscriber_ids),
        tuple_(DeliveryRow.commemoration_id, DeliveryRow.year).in_(list(occurrences_keys)),
        DeliveryRow.lead_days.in_(sorted({r["lead_days"] for r in rows})))))
    fresh = [r for r in rows if (r["subscriber_id"], r["commemoration_id"], r["year"],
                                 r["occurrence_date"], r["lead_days"], r["channel"])
             not in existing]
    if not fresh:
        return []
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # The table, not the mapped class: a Core executemany, without the ORM's bulk-insert
    # bookkeeping per row (these rows are never loaded as objects here).
    statement = insert(DeliveryRow.__table__).on_conflict_do_nothing(
        index_elements=["subscriber_id", "commemoration_id", "year", "occurrence_date",
                        "lead_days", "channel"]).execution_options(
        # Pending and skipped rows differ in which values are None; without this SQLAlchemy
        # splits the batch by that shape into one statement per run of rows.
        render_nulls=True)
    for start in range(0, len(fresh), 5000):
        session.execute(statement, fresh[start:start + 5000])
    return fresh


def _skip_superseded(session: Session, as_of: datetime) -> int:
    """Pending rows for which a nearer lead time of the same occurrence is already due."""
    nearer = aliased(DeliveryRow)
    result = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.status == PENDING, exists().where(and_(
            nearer.subscriber_id == DeliveryRow.subscriber_id,
            nearer.commemoration_id == DeliveryRow.commemoration_id,
            nearer.year == DeliveryRow.year,
            nearer.occurrence_date == DeliveryRow.occurrence_date,
            nearer.channel == DeliveryRow.channel,
            nearer.lead_days < DeliveryRow.lead_days,
            nearer.due_at <= as_of.astimezone(timezone.utc),
        )))
        .values(status=SKIPPED, last_error=SUPERSEDED)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def plan(session: Session, as_of: datetime, send_time: time, tz: tzinfo,
         channels: Sequence[Channel], *, dry_run: bool = False) -> PlanReport:
    """Record the reminders due at `as_of` on each of `channels` (or, with dry_run, only
    report them)."""
    report = PlanReport()
    today = as_of.astimezone(tz).date()
    occs = occurrences_between(session, today, today + timedelta(days=MAX_LEAD_DAYS),
                               include_undated=False)
    # Subscribers a page at a time: memory stays flat however many there are.
    after = 0
    while chunk := recipients(session, channels, after=after, limit=CHUNK):
        after = chunk[-1].id
        rows = list(_rows(occs, chunk, as_of, send_time, tz))
        if dry_run:
            report.due += [(r["subscriber_id"], r["commemoration_id"], r["year"],
                            r["occurrence_date"], r["lead_days"], r["channel"])
                           for r in rows if r["status"] == PENDING]
            continue
        inserted = _insert_new(session, rows, [p.id for p in chunk])
        report.planned += sum(1 for r in inserted if r["status"] == PENDING)
        report.skipped += sum(1 for r in inserted if r["status"] == SKIPPED)
    if not dry_run:
        report.skipped += _skip_superseded(session, as_of)
    return report
