"""The year's plan at a glance: occurrences down, agencies across, each cell that agency's
tasks for that occurrence. Built from one query for the tasks, one for the year's
occurrences (with their commemorations' designations and observances) and one for the
agencies; everything else is a pass over those rows, so the work grows with the tasks
shown, not with occurrences × agencies."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ..anniversaries import Occurrence
from ..catalogue import ROLES
from ..store.models import AgencyRow
from ..store.queries import agencies as stored_agencies
from ..store.queries import stored_occurrences_between
from .models import DONE, OPEN, TaskRow
from .tasks import OPEN_STATUSES

# The kind of a task in a cell, short; the full label (catalogue.ACTIVITY_KINDS) is its
# tooltip and on the task's page.
KIND_SHORT = {
    "huong-dan": "Hướng dẫn",
    "bai-viet": "Bài viết",
    "tin-bai-cong": "Tin Cổng TTĐT",
    "pt-th": "PT-TH",
    "co-dong": "Cổ động",
    "le-ky-niem": "Lễ kỷ niệm",
    "hoi-thao": "Tọa đàm",
    "trien-lam": "Triển lãm",
    "bao-cao": "Báo cáo",
}


# Columns: the agencies that lead the work first, those that follow it up last.
ROLE_ORDER = {role: n for n, role in enumerate(ROLES)}


@dataclass(frozen=True)
class GridFilter:
    agency: str | None = None
    status: str | None = None  # one of STATUSES, or "open"
    overdue: bool = False
    category: str | None = None

    @property
    def any(self) -> bool:
        return bool(self.agency or self.status or self.overdue or self.category)


@dataclass(frozen=True, slots=True)
class Cell:
    """One task as a cell shows it."""

    id: int
    kind: str
    title: str
    due: date | None
    status: str
    overdue: bool
    manual: bool

    @property
    def kind_short(self) -> str:
        return KIND_SHORT.get(self.kind, self.kind)


@dataclass
class Row:
    commemoration_id: str
    occurrence: Occurrence | None  # None: not an occurrence this year any more
    cancelled: bool
    cells: dict[str, list[Cell]] = field(default_factory=lambda: defaultdict(list))

    @property
    def title(self) -> str:
        return self.occurrence.title if self.occurrence else self.commemoration_id

    @property
    def date(self) -> date | None:
        return self.occurrence.date if self.occurrence else None


@dataclass
class Grid:
    year: int
    agencies: list[AgencyRow]  # the columns
    rows: list[Row]
    total: int = 0
    done: int = 0
    overdue: int = 0
    year_has_tasks: bool = True


def build(session: Session, year: int, today: date, f: GridFilter) -> Grid:
    q = select(TaskRow.id, TaskRow.commemoration_id, TaskRow.agency_id, TaskRow.kind,
               TaskRow.title, TaskRow.due_on, TaskRow.status, TaskRow.template_id
               ).where(TaskRow.year == year)
    if f.agency:
        q = q.where(TaskRow.agency_id == f.agency)
    if f.status == OPEN_STATUSES:
        q = q.where(TaskRow.status.in_(OPEN))
    elif f.status:
        q = q.where(TaskRow.status == f.status)
    if f.overdue:
        q = q.where(TaskRow.status.in_(OPEN), TaskRow.due_on < today)
    q = q.order_by(TaskRow.due_on.is_(None), TaskRow.due_on, TaskRow.id)
    found = session.execute(q).all()

    occurrences = {occ.id: (occ, stored.cancelled) for occ, stored in stored_occurrences_between(
        session, date(year, 1, 1), date(year, 12, 31), include_cancelled=True)}
    rows: dict[str, Row] = {}
    grid = Grid(year, [], [])
    used_agencies: set[str] = set()
    for ident, commemoration_id, agency_id, kind, title, due, status, template_id in found:
        occ, cancelled = occurrences.get(commemoration_id, (None, False))
        if f.category and (occ is None or occ.commemoration.category != f.category):
            continue
        row = rows.get(commemoration_id)
        if row is None:
            row = rows[commemoration_id] = Row(commemoration_id, occ, cancelled)
        late = status in OPEN and due is not None and due < today
        row.cells[agency_id].append(Cell(ident, kind, title, due, status, late,
                                         template_id is None))
        used_agencies.add(agency_id)
        grid.total += 1
        grid.done += status == DONE
        grid.overdue += late
    grid.rows = sorted(rows.values(), key=lambda r: (r.date is None, r.date or date.max,
                                                     r.title))
    grid.agencies = sorted(
        (a for a in stored_agencies(session, include_inactive=True)
         if (a.active or a.id in used_agencies) and (not f.agency or a.id == f.agency)),
        key=lambda a: (ROLE_ORDER.get(a.role, len(ROLE_ORDER)), a.id))
    if not found and f.any:
        grid.year_has_tasks = bool(session.scalar(select(exists().where(TaskRow.year == year))))
    elif not found:
        grid.year_has_tasks = False
    return grid
