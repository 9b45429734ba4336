"""The year's plan at a glance: occurrences down, agencies across, each cell that agency's
tasks for that occurrence, ROWS_PER_PAGE occurrences a page. Built from one query for the
year's tasks (plain rows), the year's occurrences from the listing index (computed once per
data version, see listing/index.py), and one query for the agencies: the counts cover the
whole year, and only the page's cells become objects and HTML, so a page costs the same
at 100 commemorations as at 1,000 (BENCHMARKS.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from ..anniversaries import Occurrence, last_day_of_year
from ..catalogue import ROLES
from ..listing import ListingIndex
from ..store.models import AgencyRow, CommemorationRow
from ..store.queries import agencies as stored_agencies
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
    occurrence: Occurrence | None  # None: the commemoration was cancelled
    cancelled: bool
    cells: dict[str, list[Cell]] = field(default_factory=lambda: defaultdict(list))
    name: str | None = None  # a cancelled commemoration's title

    @property
    def title(self) -> str:
        if self.occurrence:
            return self.occurrence.title
        return f"{self.name} (đã hủy)" if self.name else self.commemoration_id

    @property
    def date(self) -> date | None:
        return self.occurrence.date if self.occurrence else None


ROWS_PER_PAGE = 100


@dataclass
class Grid:
    year: int
    agencies: list[AgencyRow]  # the columns
    rows: list[Row]  # this page's
    total: int = 0
    done: int = 0
    overdue: int = 0
    year_has_tasks: bool = True
    number: int = 1  # the page
    row_count: int = 0  # occurrences with tasks, on every page

    @property
    def pages(self) -> int:
        return max(1, -(-self.row_count // ROWS_PER_PAGE))

    @property
    def per_page(self) -> int:
        return ROWS_PER_PAGE


def _filtered(query, year: int, today: date, f: GridFilter):
    query = query.where(TaskRow.year == year)
    if f.agency:
        query = query.where(TaskRow.agency_id == f.agency)
    if f.status == OPEN_STATUSES:
        query = query.where(TaskRow.status.in_(OPEN))
    elif f.status:
        query = query.where(TaskRow.status == f.status)
    if f.overdue:
        query = query.where(TaskRow.status.in_(OPEN), TaskRow.due_on < today)
    return query


def build(session: Session, year: int, today: date, f: GridFilter, index: ListingIndex,
          page: int = 1) -> Grid:
    late = and_(TaskRow.status.in_(OPEN), TaskRow.due_on < today)
    # Per commemoration, counted by the database: the year's thousands of tasks never
    # become Python objects, only the page's do.
    groups = session.execute(_filtered(select(
        TaskRow.commemoration_id, func.count(),
        func.sum(case((TaskRow.status == DONE, 1), else_=0)),
        func.sum(case((late, 1), else_=0))), year, today, f)
        .group_by(TaskRow.commemoration_id)).all()

    # The year's occurrences as the pages list them (active commemorations); the tasks of
    # a cancelled commemoration keep their row, marked.
    # A lunar occurrence belongs to its lunar year, whose last days fall early in year + 1.
    occurrences = {occ.id: occ
                   for occ in index.page(date(year, 1, 1), last_day_of_year(year))[0]
                   if occ.year == year}
    grid = Grid(year, [], [], number=page)
    idents = []
    for ident, total, done, overdue in groups:
        occ = occurrences.get(ident)
        if f.category and (occ is None or occ.commemoration.category != f.category):
            continue
        idents.append(ident)
        grid.total += total
        grid.done += done or 0
        grid.overdue += overdue or 0

    def order(ident: str):
        occ = occurrences.get(ident)
        day = occ.date if occ is not None else None
        return (day is None, day or date.max, occ.title if occ is not None else ident)

    idents.sort(key=order)
    grid.row_count = len(idents)
    start = (page - 1) * ROWS_PER_PAGE
    shown = idents[start:start + ROWS_PER_PAGE]
    missing = [i for i in shown if i not in occurrences]
    names = dict(session.execute(select(CommemorationRow.id, CommemorationRow.title)
                                 .where(CommemorationRow.id.in_(missing)))) if missing else {}
    rows = {ident: Row(ident, occurrences.get(ident), cancelled=ident not in occurrences,
                       name=names.get(ident)) for ident in shown}
    if shown:
        tasks = session.execute(_filtered(select(
            TaskRow.id, TaskRow.commemoration_id, TaskRow.agency_id, TaskRow.kind,
            TaskRow.title, TaskRow.due_on, TaskRow.status, TaskRow.template_id), year, today, f)
            .where(TaskRow.commemoration_id.in_(shown))
            .order_by(TaskRow.due_on.is_(None), TaskRow.due_on, TaskRow.id))
        for ident, cid, agency_id, kind, title, due, status, template_id in tasks:
            overdue = status in OPEN and due is not None and due < today
            rows[cid].cells[agency_id].append(Cell(ident, kind, title, due, status, overdue,
                                                   template_id is None))
    grid.rows = [rows[ident] for ident in shown]
    # Columns: every active agency, and a retired one that still has tasks this year.
    used_agencies = set(session.scalars(_filtered(
        select(TaskRow.agency_id).distinct(), year, today, f)))
    grid.agencies = sorted(
        (a for a in stored_agencies(session, include_inactive=True)
         if (a.active or a.id in used_agencies) and (not f.agency or a.id == f.agency)),
        key=lambda a: (ROLE_ORDER.get(a.role, len(ROLE_ORDER)), a.id))
    if not groups and f.any:
        grid.year_has_tasks = bool(session.scalar(select(exists().where(TaskRow.year == year))))
    elif not groups:
        grid.year_has_tasks = False
    return grid
