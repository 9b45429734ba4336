"""Reading and changing tasks: the listing with its filters, a status change with result
links and a note, tasks added and removed by hand — each change audited. No Flask here: the
`tasks` commands and the admin pages share these functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from ..anniversaries import occurrence_in
from ..catalogue import ACTIVITY_KINDS
from ..catalogue.model import CONTROL_IN_LINE, CONTROL_IN_PROSE
from ..planning import shifted
from ..store import audit
from ..store.models import ACTIVE, AgencyRow, CommemorationRow
from ..store.queries import to_value
from .generate import record_change, task_subject
from .models import CANCELLED, DONE, MAX_LINKS, OPEN, STATUSES, TODO, TaskRow

MAX_NOTE = 5000
MAX_URL = 2000
MAX_TITLE = 500


class TaskError(ValueError):
    """A value that cannot be accepted; the message says which and why (Vietnamese)."""


OPEN_STATUSES = "open"  # a TaskFilter status that means "todo or in progress"


@dataclass(frozen=True)
class TaskFilter:
    year: int | None = None
    agency: str | None = None
    status: str | None = None  # one of STATUSES, or OPEN_STATUSES
    overdue: bool = False
    commemoration: str | None = None


def query(f: TaskFilter, today: date) -> Select:
    """Tasks, next due first (to be decided last). (`find` keeps that order; the CLI puts
    overdue ones first; `page` does it in SQL.)"""
    q = select(TaskRow)
    if f.year is not None:
        q = q.where(TaskRow.year == f.year)
    if f.agency is not None:
        q = q.where(TaskRow.agency_id == f.agency)
    if f.status == OPEN_STATUSES:
        q = q.where(TaskRow.status.in_(OPEN))
    elif f.status is not None:
        q = q.where(TaskRow.status == f.status)
    if f.commemoration is not None:
        q = q.where(TaskRow.commemoration_id == f.commemoration)
    if f.overdue:
        q = q.where(TaskRow.status.in_(OPEN), TaskRow.due_on < today)
    return q.order_by(TaskRow.due_on.is_(None), TaskRow.due_on, TaskRow.id)


def find(session: Session, f: TaskFilter, today: date) -> list[TaskRow]:
    return list(session.scalars(query(f, today)))


def page(session: Session, f: TaskFilter, today: date, number: int, per_page: int
         ) -> tuple[list[TaskRow], int]:
    """One page of tasks, overdue ones on top, then next due first, to be decided last;
    (the page's tasks, how many in all)."""
    q = query(f, today)
    total = session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    overdue_first = case((and_(TaskRow.status.in_(OPEN), TaskRow.due_on < today), 0), else_=1)
    rows = session.scalars(q.order_by(None).order_by(
        overdue_first, TaskRow.due_on.is_(None), TaskRow.due_on, TaskRow.id)
        .offset((number - 1) * per_page).limit(per_page))
    return list(rows), total


def check_link(url: str) -> str:
    """An http(s) address of what was published; refused when it is anything else."""
    url = url.strip()
    if not url:
        raise TaskError("Liên kết trống.")
    if len(url) > MAX_URL:
        raise TaskError(f"Liên kết dài quá {MAX_URL} ký tự.")
    if CONTROL_IN_LINE.search(url) or any(ch.isspace() for ch in url):
        raise TaskError("Liên kết không được chứa khoảng trắng hoặc ký tự điều khiển.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TaskError(f"Liên kết phải là địa chỉ http:// hoặc https://, không phải {url!r}.")
    return url


def check_note(note: str | None) -> str | None:
    if note is None:
        return None
    note = note.replace("\r\n", "\n").strip()
    if not note:
        return None
    if len(note) > MAX_NOTE:
        raise TaskError(f"Ghi chú tối đa {MAX_NOTE} ký tự.")
    if CONTROL_IN_PROSE.search(note):
        raise TaskError("Ghi chú không được chứa ký tự điều khiển.")
    return note


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise TaskError(f"Trạng thái {status!r} không hợp lệ; chọn: " + ", ".join(STATUSES) + ".")
    return status


def update(session: Session, task: TaskRow, *, who: str, now: datetime,
           status: str | None = None, add_links: list[str] = (),
           remove_links: list[str] = (), note: str | None = None,
           set_note: bool = False) -> audit.Changes:
    """Change a task; returns what changed (nothing: no new revision, no audit entry).
    Validates everything before changing anything."""
    new_status = check_status(status) if status is not None else task.status
    added = [check_link(url) for url in add_links]
    links = [u for u in task.links if u not in set(remove_links)]
    links += [u for u in added if u not in links]
    if len(links) > MAX_LINKS:
        raise TaskError(f"Tối đa {MAX_LINKS} liên kết cho một việc.")
    new_note = check_note(note) if set_note else task.note
    before = {"status": task.status, "links": list(task.links), "note": task.note}
    after = {"status": new_status, "links": links, "note": new_note}
    changes = audit.diff(before, after)
    if not changes:
        return {}
    task.status, task.links, task.note = new_status, links, new_note
    if new_status == DONE and before["status"] != DONE:
        task.done_at = now
    elif new_status != DONE:
        task.done_at = None
    record_change(session, task, "task-update", changes, now, who)
    return changes


def add_manual(session: Session, *, commemoration_id: str, year: int, kind: str,
               agency_id: str, title: str, due: date | None, who: str,
               now: datetime) -> TaskRow:
    """A task no template calls for. Its due day is the one given, or, without one, the
    occurrence's day (to be decided while the occurrence has none)."""
    row = session.get(CommemorationRow, commemoration_id)
    if row is None or row.status != ACTIVE:
        raise TaskError(f"Không có ngày kỷ niệm “{commemoration_id}” (hoặc đã bị hủy).")
    occ = occurrence_in(to_value(row), year)
    if occ is None:
        raise TaskError(f"Năm {year} không có lần kỷ niệm nào của “{commemoration_id}”.")
    if kind not in ACTIVITY_KINDS:
        raise TaskError(f"Loại việc {kind!r} không hợp lệ; chọn: " + ", ".join(ACTIVITY_KINDS))
    agency = session.get(AgencyRow, agency_id)
    if agency is None or not agency.active:
        raise TaskError(f"Không có cơ quan “{agency_id}”.")
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE or CONTROL_IN_LINE.search(title):
        raise TaskError(f"Tên việc: bắt buộc, một dòng, tối đa {MAX_TITLE} ký tự.")
    task = TaskRow(
        commemoration_id=commemoration_id, year=year, template_id=None, activity_key=None,
        kind=kind, title=title, agency_id=agency_id, coordinating=[],
        due_offset=None if due is not None else 0,
        due_on=due if due is not None else shifted(occ.date, 0),
        window_offsets=None, window_from=None, window_to=None, notice_days=[7, 1],
        status=TODO, links=[], note=None, title_edited=True, revision=1, created_at=now,
        updated_at=now, updated_by=who)
    session.add(task)
    session.flush()
    audit.record(session, who=who, action="task-add", at=now, commemoration_id=commemoration_id,
                 subject=task_subject(task.id), changes=audit.diff({}, {
                     "title": title, "kind": kind, "agency": agency_id,
                     "due_on": task.due_on}))
    return task


def remove_manual(session: Session, task: TaskRow, *, who: str, now: datetime) -> None:
    """Only a task added by hand is removed; a generated one would come back with the next
    generation, so it is cancelled instead (set its status)."""
    if task.template_id is not None:
        raise TaskError("Việc này do kế hoạch mẫu tạo ra: không xóa được, hãy chuyển trạng "
                        "thái sang “Đã hủy”.")
    audit.record(session, who=who, action="task-remove", at=now,
                 commemoration_id=task.commemoration_id, subject=task_subject(task.id),
                 changes=audit.diff({"title": task.title, "status": task.status}, {}))
    session.delete(task)


def as_dict(task: TaskRow, today: date, agency_short: str | None = None) -> dict:
    """The stable JSON form (`tasks --json`, the API of later days)."""
    return {
        "id": task.id,
        "commemoration": task.commemoration_id,
        "year": task.year,
        "kind": task.kind,
        "title": task.title,
        "agency": task.agency_id,
        "coordinating": list(task.coordinating),
        "due": task.due_on.isoformat() if task.due_on else None,
        "window": ([task.window_from.isoformat(), task.window_to.isoformat()]
                   if task.window_from and task.window_to else None),
        "status": task.status,
        "overdue": task.overdue(today),
        "links": list(task.links),
        "note": task.note,
        "manual": task.template_id is None,
        "revision": task.revision,
        "updated_at": task.updated_at.isoformat(),
        "updated_by": task.updated_by,
    }


__all__ = ["CANCELLED", "DONE", "OPEN", "OPEN_STATUSES", "STATUSES", "TODO", "TaskError",
           "TaskFilter", "add_manual", "as_dict", "check_link", "find", "page", "query",
           "remove_manual", "update"]
