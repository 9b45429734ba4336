"""`plans generate`: the tasks the plan templates call for, created idempotently, and kept in
step with the catalogue.

- a task is keyed by (commemoration, year, template, activity): generating again creates
  nothing new, and never touches a task's status, links, note or a title edited by hand;
- an open task follows its occurrence: a changed observance day (or a day set for a
  year-only commemoration) moves its due day and window, and a template whose offsets or
  title changed updates it; a done or cancelled task keeps what it had;
- an occurrence with no day yet gives tasks whose due day is to be decided (None);
- a commemoration that is cancelled (removed from the catalogue, or by an administrator)
  cancels its open tasks — never deletes them; a task whose template no longer calls for it
  is reported, and cancelled only while nobody has touched it.
Every change here is recorded in the audit log as the work of "hệ thống" (the system).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..anniversaries import Occurrence, occurrence_in
from ..planning import PlannedTask, plan_for, shifted
from ..store import audit
from ..store.models import CANCELLED as COMMEMORATION_CANCELLED
from ..store.models import CommemorationRow, DirectiveRow
from ..store.queries import occurrences_of_year, plan_templates, to_value
from ..store.sync import bulk_insert
from .models import CANCELLED, OPEN, TODO, TaskRow

SYSTEM = "hệ thống"  # who the audit log names for what generation and the catalogue did
CANCELLED_WITH_COMMEMORATION = "Hủy theo danh mục: ngày kỷ niệm đã bị hủy."
NO_LONGER_PLANNED = "Hủy: kế hoạch mẫu không còn hoạt động này."


@dataclass
class GenerateReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # no longer planned, but touched: left
    unchanged: int = 0

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.changed)} changed, "
                f"{len(self.cancelled)} cancelled, {self.unchanged} unchanged")


def label(task: TaskRow | PlannedTask) -> str:
    agency = task.agency_id if isinstance(task, TaskRow) else task.agency
    return f"{task.commemoration_id} {task.year} {task.kind} → {agency}"


def generate(session: Session, year: int, now: datetime, *, dry_run: bool = False
             ) -> GenerateReport:
    """Create the year's tasks and bring its open ones in step (in the caller's
    transaction; with dry_run the caller rolls back, and the report says what would be)."""
    report = GenerateReport()
    templates = plan_templates(session)
    wanted: dict[tuple, tuple[PlannedTask, Occurrence]] = {}
    for occ in occurrences_of_year(session, year):
        for planned in plan_for(occ, templates):
            wanted[(planned.commemoration_id, planned.template_id, planned.activity_key)] = (
                planned, occ)
    existing = {(t.commemoration_id, t.template_id, t.activity_key): t
                for t in session.scalars(select(TaskRow).where(TaskRow.year == year,
                                                              TaskRow.template_id.is_not(None)))}
    added = []
    for key, (planned, occ) in wanted.items():
        task = existing.pop(key, None)
        if task is None:
            added.append(new_task_values(planned, now))
            report.added.append(label(planned))
        elif task.open and _follow_template(session, task, planned, occ, now):
            report.changed.append(label(task))
        else:
            report.unchanged += 1
    for task in existing.values():  # their template no longer calls for them
        if task.open and _untouched(task):
            _cancel(session, task, NO_LONGER_PLANNED, now)
            report.cancelled.append(label(task))
        elif task.open:
            report.kept.append(label(task))
    # New tasks go in at driver speed (a year is thousands of them); they need no audit
    # entry, and they follow their occurrence already.
    bulk_insert(session, TaskRow, added)
    report.cancelled += follow_catalogue(session, now, year=year)
    report.added.sort()
    return report


def default_years(session: Session, today: date) -> list[int]:
    """The years `plans generate` without --year works on: every year a loaded directive
    designates, and the current year."""
    return sorted({*session.scalars(select(DirectiveRow.year)), today.year})


def new_task_values(planned: PlannedTask, now: datetime) -> dict:
    """The columns of the task generation creates for `planned` (every key, every time:
    bulk_insert takes its columns from the first row)."""
    return dict(
        commemoration_id=planned.commemoration_id, year=planned.year,
        template_id=planned.template_id, activity_key=planned.activity_key,
        kind=planned.kind, title=planned.title, agency_id=planned.agency,
        coordinating=list(planned.coordinating), due_offset=planned.due_offset,
        due_on=planned.due, window_offsets=_window_offsets(planned.window_offsets),
        window_from=planned.window[0] if planned.window else None,
        window_to=planned.window[1] if planned.window else None,
        notice_days=list(planned.notice_days), status=TODO, links=[], note=None,
        title_edited=False, revision=1, created_at=now, updated_at=now, updated_by=SYSTEM,
        done_at=None)


def _window_offsets(offsets: tuple[int, int] | None) -> list[int] | None:
    return list(offsets) if offsets is not None else None


def _untouched(task: TaskRow) -> bool:
    return task.status == TODO and not task.links and not task.note and not task.title_edited


def _follow_template(session: Session, task: TaskRow, planned: PlannedTask,
                     occ: Occurrence, now: datetime) -> bool:
    """An open generated task takes the template's current title, agencies and offsets
    (a title edited by hand, and a due day set by hand, stay)."""
    after = {"coordinating": list(planned.coordinating),
             "notice_days": list(planned.notice_days),
             "window_offsets": _window_offsets(planned.window_offsets)}
    if not task.title_edited:
        after["title"] = planned.title
    if task.due_offset is not None:
        after["due_offset"] = planned.due_offset
    before = {name: getattr(task, name) for name in after}
    changes = audit.diff(before, after)
    for name in changes:
        setattr(task, name, after[name])
    moved = _follow_occurrence(task, occ)
    changes.update(moved)
    if changes:
        record_change(session, task, "task-plan", changes, now)
    return bool(changes)


def _follow_occurrence(task: TaskRow, occ: Occurrence | None) -> audit.Changes:
    """Due day and window from the occurrence's current day (an open task only)."""
    day = occ.date if occ is not None else None
    after: dict[str, date | None] = {}
    if task.due_offset is not None:
        after["due_on"] = shifted(day, task.due_offset)
    offsets = task.window_offsets
    after["window_from"] = shifted(day, offsets[0]) if offsets else None
    after["window_to"] = shifted(day, offsets[1]) if offsets else None
    before = {name: getattr(task, name) for name in after}
    changes = audit.diff(before, after)
    for name in changes:
        setattr(task, name, after[name])
    return changes


def follow_catalogue(session: Session, now: datetime, *, year: int | None = None,
                     commemoration_id: str | None = None) -> list[str]:
    """Bring open tasks in step with their commemorations: due days follow the occurrence's
    day, and a cancelled commemoration cancels them. Returns the cancelled tasks' labels.
    Run after `load`, after an administrator's edit, and by `plans generate`."""
    query = select(TaskRow).where(TaskRow.status.in_(OPEN))
    if year is not None:
        query = query.where(TaskRow.year == year)
    if commemoration_id is not None:
        query = query.where(TaskRow.commemoration_id == commemoration_id)
    tasks = list(session.scalars(query.order_by(TaskRow.id)))
    # Their commemorations in one query (and one per relationship), not one get() each;
    # and each occurrence computed once, not once per task.
    wanted = {task.commemoration_id for task in tasks}
    rows = {row.id: row for row in session.scalars(select(CommemorationRow).where(
        CommemorationRow.id.in_(query.with_only_columns(TaskRow.commemoration_id)
                                .distinct().order_by(None))))} if wanted else {}
    occurrences: dict[tuple[str, int], Occurrence | None] = {}
    cancelled = []
    for task in tasks:
        row = rows.get(task.commemoration_id)
        if row is None or row.status == COMMEMORATION_CANCELLED:
            _cancel(session, task, CANCELLED_WITH_COMMEMORATION, now)
            cancelled.append(label(task))
            continue
        key = (row.id, task.year)
        if key not in occurrences:
            occurrences[key] = occurrence_in(to_value(row), task.year)
        changes = _follow_occurrence(task, occurrences[key])
        if changes:
            record_change(session, task, "task-follow", changes, now)
    return cancelled


def _cancel(session: Session, task: TaskRow, reason: str, now: datetime) -> None:
    changes = audit.diff({"status": task.status, "note": task.note},
                         {"status": CANCELLED, "note": _with_line(task.note, reason)})
    task.status, task.note = CANCELLED, _with_line(task.note, reason)
    record_change(session, task, "task-cancel", changes, now)


def _with_line(note: str | None, line: str) -> str:
    return f"{note}\n{line}" if note else line


def record_change(session: Session, task: TaskRow, action: str, changes: audit.Changes,
           now: datetime, who: str = SYSTEM) -> None:
    task.revision = (task.revision or 0) + 1
    task.updated_at, task.updated_by = now, who
    session.flush()  # the task needs its id for the audit entry
    audit.record(session, who=who, action=action, at=now, changes=changes,
                 commemoration_id=task.commemoration_id, subject=task_subject(task.id))


def task_subject(task_id: int) -> str:
    """How the audit log names a task."""
    return f"task:{task_id}"
