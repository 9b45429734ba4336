"""Task notices and weekly digests to the agencies, through the delivery ledger.

Planning, at every tick, from database state alone (like reminders, so a restart, a missed
tick or a second scheduler plans nothing twice — the ledger's unique key and ON CONFLICT DO
NOTHING):
- a notice N days before an open task's due day, for each N of its `notice_days` (the
  template's, 7 and 1 by default), at `CALENDAR_REMINDER_TIME`; and one notice the day after
  the due day if the task is still open then (it became overdue);
- when several of a task's notices are due at once (the service was down), only the nearest
  is sent, the others are recorded as skipped; an overdue notice is not caught up more than
  OVERDUE_CATCH_UP after the due day (the weekly digest lists old ones);
- a digest per agency every Monday at the same time: its open tasks due in the next 14 days,
  and its overdue ones — caught up later in the week if the service was down on Monday;
- each goes to every contact of the responsible agency (`emails`, and its `webhook`), on the
  channels that are configured.
Sending re-checks each notice (the task still open, its due day unchanged, the address still a
contact of an active agency) and skips it otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..anniversaries import occurrence_in
from ..catalogue import ACTIVITY_KINDS
from ..catalogue.model import MAX_LEAD_DAYS
from ..delivery.channels import Letter
from ..delivery.dispatch import Prepared, Run, ours
from ..delivery.models import (
    DIGEST,
    EMAIL,
    PENDING,
    SKIPPED,
    TASK_NOTICE,
    WEBHOOK,
    DeliveryRow,
)
from ..store.models import AgencyRow, CommemorationRow
from ..store.queries import to_value
from ..vietnamese import official_date
from .models import OPEN, STATUSES, TaskRow

OVERDUE_CATCH_UP = timedelta(days=7)
DIGEST_AHEAD = timedelta(days=14)
MISSED = "missed while the service was down; a nearer notice was sent instead"
SUPERSEDED = "superseded by a nearer notice of the same task"


@dataclass
class NoticePlan:
    planned: int = 0  # new pending rows
    skipped: int = 0  # new or existing rows skipped in favour of a nearer one
    due: list[str] = field(default_factory=list)  # with dry_run: what would be sent


def moment(day: date, send_time: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, send_time, tz).astimezone(timezone.utc)


def contacts(agency: AgencyRow, channels: Iterable[str]) -> list[tuple[str, str]]:
    """(channel, address) of everyone who hears of the agency's tasks."""
    found = []
    if EMAIL in channels:
        found += [(EMAIL, address) for address in agency.emails or ()]
    if WEBHOOK in channels and agency.webhook_url:
        found.append((WEBHOOK, agency.webhook_url))
    return found


def _task_notices(task: TaskRow, today: date, as_of: datetime, send_time: time,
                  tz: tzinfo) -> list[tuple[str, datetime]]:
    """The task's notices due at `as_of`, oldest first: (key, due at)."""
    assert task.due_on is not None
    due = []
    if task.due_on >= today:  # before the due day
        for days in sorted(task.notice_days or (), reverse=True):
            at = moment(task.due_on - timedelta(days=days), send_time, tz)
            if at <= as_of:
                due.append((f"due:{task.due_on.isoformat()}:{days}d", at))
    elif today - task.due_on <= OVERDUE_CATCH_UP:
        at = moment(task.due_on + timedelta(days=1), send_time, tz)
        if at <= as_of:
            due.append((f"overdue:{task.due_on.isoformat()}", at))
    return sorted(due, key=lambda item: item[1])


def plan_notices(session: Session, as_of: datetime, send_time: time, tz: tzinfo,
                 channels: Sequence[str], *, dry_run: bool = False) -> NoticePlan:
    """Record the task notices and digests due at `as_of` (or, with dry_run, report them)."""
    report = NoticePlan()
    today = as_of.astimezone(tz).date()
    agencies = {a.id: a for a in session.scalars(
        select(AgencyRow).where(AgencyRow.active.is_(True)))}
    reach = {ident: found for ident, a in agencies.items() if (found := contacts(a, channels))}
    if not reach:
        return report
    created = as_of.astimezone(timezone.utc)
    rows: list[dict] = []
    superseded: list[str] = []

    def add(kind: str, key: str, agency: str, task_id: int | None, due_at: datetime,
            status: str) -> None:
        for channel, address in reach[agency]:
            rows.append({"kind": kind, "notice_key": key, "address": address,
                         "agency_id": agency, "task_id": task_id, "channel": channel,
                         "due_at": due_at, "status": status, "attempts": 0,
                         "next_attempt_at": created,
                         "last_error": None if status == PENDING else MISSED,
                         "created_at": created})

    tasks = session.scalars(select(TaskRow).where(
        TaskRow.status.in_(OPEN), TaskRow.due_on.is_not(None),
        TaskRow.agency_id.in_(list(reach)),
        TaskRow.due_on >= today - OVERDUE_CATCH_UP,
        TaskRow.due_on <= today + timedelta(days=MAX_LEAD_DAYS)))
    for task in tasks:
        due = _task_notices(task, today, as_of, send_time, tz)
        for n, (key, at) in enumerate(due):
            nearest = n == len(due) - 1
            add(TASK_NOTICE, f"task:{task.id}:{key}", task.agency_id, task.id, at,
                PENDING if nearest else SKIPPED)
            if not nearest:
                superseded.append(f"task:{task.id}:{key}")
    monday = today - timedelta(days=today.weekday())
    at = moment(monday, send_time, tz)
    if at <= as_of:
        year, week, _ = monday.isocalendar()
        for agency in reach:
            add(DIGEST, f"digest:{agency}:{year}-W{week:02d}", agency, None, at, PENDING)
    if dry_run:
        report.due = _not_yet_recorded(session, rows)
        return report
    inserted = _insert_new(session, rows)
    report.planned = sum(1 for r in inserted if r["status"] == PENDING)
    report.skipped = sum(1 for r in inserted if r["status"] == SKIPPED)
    if superseded:  # planned earlier and not sent yet: a nearer one goes instead
        result = session.execute(
            update(DeliveryRow).where(DeliveryRow.kind == TASK_NOTICE,
                                      DeliveryRow.status == PENDING,
                                      DeliveryRow.notice_key.in_(superseded))
            .values(status=SKIPPED, last_error=SUPERSEDED)
            .execution_options(synchronize_session=False))
        report.skipped += result.rowcount or 0
    return report


KEY = (DeliveryRow.kind, DeliveryRow.notice_key, DeliveryRow.channel, DeliveryRow.address)


def _key(row: dict) -> tuple:
    return (row["kind"], row["notice_key"], row["channel"], row["address"])


def _existing(session: Session, rows: list[dict]) -> set[tuple]:
    keys = sorted({r["notice_key"] for r in rows})
    found: set[tuple] = set()
    for start in range(0, len(keys), 500):
        found |= set(session.execute(select(*KEY).where(
            DeliveryRow.notice_key.in_(keys[start:start + 500]))))
    return found


def _not_yet_recorded(session: Session, rows: list[dict]) -> list[str]:
    existing = _existing(session, rows)
    return [f"{r['notice_key']} {r['channel']} → {r['address']}" for r in rows
            if r["status"] == PENDING and _key(r) not in existing]


def _insert_new(session: Session, rows: list[dict]) -> list[dict]:
    """Insert the rows whose key is new; ON CONFLICT DO NOTHING settles a race with another
    planner. Returns the rows this call inserted."""
    if not rows:
        return []
    existing = _existing(session, rows)
    fresh = [r for r in rows if _key(r) not in existing]
    if not fresh:
        return []
    insert = (postgresql.insert if session.connection().dialect.name == "postgresql"
              else sqlite.insert)
    statement = insert(DeliveryRow.__table__).on_conflict_do_nothing(
        index_elements=["kind", "notice_key", "channel", "address"]).execution_options(
        render_nulls=True)
    session.execute(statement, fresh)
    return fresh


# --- Sending -------------------------------------------------------------------------------

def message_id(key: str, channel: str, address: str, host: str) -> str:
    """Deterministic per delivery: a repeated send carries the same id."""
    who = hashlib.sha256(address.lower().encode()).hexdigest()[:16]
    return f"<{key.replace(':', '.')}.{channel}.{who}@{host}>"


def _still_a_contact(agency: AgencyRow | None, channel: str, address: str) -> bool:
    return (agency is not None and agency.active
            and (channel, address) in contacts(agency, (channel,)))


@dataclass(frozen=True)
class _Task:
    """What a notice's template sees of its task."""

    id: int
    title: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    due_on: date | None
    links: list[str]
    url: str
    occurrence_title: str | None
    occurrence_date: date | None
    occurrence_lunar: str | None = None  # 10/3 âm lịch, beside the date of a lunar origin


def _task_view(session: Session, task: TaskRow, base_url: str) -> _Task:
    row = session.get(CommemorationRow, task.commemoration_id)
    occ = occurrence_in(to_value(row), task.year) if row is not None else None
    return _Task(task.id, task.title, task.kind, ACTIVITY_KINDS.get(task.kind, task.kind),
                 task.status, STATUSES.get(task.status, task.status), task.due_on,
                 list(task.links or ()), f"{base_url}/admin/tasks/{task.id}",
                 occ.title if occ else None, occ.date if occ else None,
                 occ.lunar_label if occ else None)


LOAD = ours(select(DeliveryRow.kind, DeliveryRow.notice_key, DeliveryRow.channel,
                   DeliveryRow.address, DeliveryRow.agency_id, DeliveryRow.task_id,
                   DeliveryRow.attempts))


def _host(run: Run) -> str:
    return urlsplit(run.services.settings.base_url).hostname or "localhost"


class _AgencyNotice:
    """What both kinds of agency notice do with a claimed row: read it under the claim,
    check the address is still a contact of an active agency, then let the kind write the
    letter (`compose`, in the same session) or say why it is not to be sent."""

    def prepare(self, run: Run, delivery_id: int) -> Prepared | None:
        row = run.load(LOAD, delivery_id)
        if row is None:
            return None
        label = f"{row.notice_key} {row.channel} → {row.address}"
        today = run.now.astimezone(run.services.settings.tz).date()
        with run.services.database.session() as session:
            agency = session.get(AgencyRow, row.agency_id)
            if not _still_a_contact(agency, row.channel, row.address):
                return Prepared(label, row.channel, row.attempts,
                                skip="no longer a contact of the agency")
            found = self.compose(run, session, row, agency, today)
        if isinstance(found, str):
            return Prepared(label, row.channel, row.attempts, skip=found)
        return Prepared(label, row.channel, row.attempts, letter=found)

    def compose(self, run: Run, session: Session, row, agency: AgencyRow,
                today: date) -> Letter | str:
        raise NotImplementedError

    @staticmethod
    def letter(run: Run, row, agency: AgencyRow, template: str, subject: str,
               context: dict) -> Letter:
        return Letter(template=template, context=context, subject=subject,
                      address=row.address, recipient_name=agency.short,
                      message_id=message_id(row.notice_key, row.channel, row.address,
                                            _host(run)),
                      sent_at=run.now)


class TaskNoticeKind(_AgencyNotice):
    """A notice of one task's coming due day, or of its being overdue."""

    name = TASK_NOTICE

    def compose(self, run: Run, session: Session, row, agency: AgencyRow,
                today: date) -> Letter | str:
        task = session.get(TaskRow, row.task_id) if row.task_id is not None else None
        if task is None or not task.open:
            return "task done, cancelled or removed"
        if task.agency_id != row.agency_id:
            return "task moved to another agency"
        if task.due_on is None or f":{task.due_on.isoformat()}" not in row.notice_key:
            return "due day changed; a notice for the new day is planned"
        if row.notice_key.split(":")[2] == "due" and task.due_on < today:
            return "due day already past"
        view = _task_view(session, task, run.services.settings.base_url)
        assert view.due_on is not None
        days_left = (view.due_on - today).days
        overdue = days_left < 0
        heading = (f"Quá hạn {-days_left} ngày" if overdue else
                   "Đến hạn hôm nay" if days_left == 0 else f"Còn {days_left} ngày đến hạn")
        return self.letter(
            run, row, agency, "email/task_notice",
            f"[Lịch kỷ niệm] {heading} ({official_date(view.due_on)}): {view.title}",
            {"task": view, "agency": agency.short, "heading": heading, "overdue": overdue})


class DigestKind(_AgencyNotice):
    """An agency's weekly digest: its tasks due in the next 14 days, and overdue."""

    name = DIGEST

    def compose(self, run: Run, session: Session, row, agency: AgencyRow,
                today: date) -> Letter | str:
        base = run.services.settings.base_url
        tasks = session.scalars(select(TaskRow).where(
            TaskRow.agency_id == row.agency_id, TaskRow.status.in_(OPEN),
            TaskRow.due_on.is_not(None), TaskRow.due_on <= today + DIGEST_AHEAD)
            .order_by(TaskRow.due_on, TaskRow.id))
        views = [_task_view(session, t, base) for t in tasks]
        if not views:
            return "nothing due in the next 14 days and nothing overdue"
        overdue = [v for v in views if v.due_on < today]
        coming = [v for v in views if v.due_on >= today]
        week = row.notice_key.rsplit(":", 1)[1]
        return self.letter(
            run, row, agency, "email/task_digest",
            f"[Lịch kỷ niệm] Việc của {agency.short} tuần {week}: {len(coming)} sắp đến "
            f"hạn, {len(overdue)} quá hạn",
            {"agency": agency.short,
             # as the files name it, with today's name beside it if renamed since
             "agency_name": run.services.renames.beside(agency.name, today), "coming": coming,
             "overdue": overdue, "today": today, "week": week,
             "tasks_url": f"{base}/admin/tasks"})


KINDS = (TaskNoticeKind, DigestKind)
