"""Reading commemorations back out of the store as catalogue values, and the occurrences of
a date range through an indexed month/day pre-filter (not a scan of every row × year)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, or_, select, tuple_
from sqlalchemy.orm import Session

from ..anniversaries import Occurrence, last_day_of_year, occurrences, origin_days_between
from ..catalogue import Activity, Commemoration, LunarDay, PlanTemplate
from ..catalogue.model import Designation, Rename, default_directive_label
from .models import (
    ACTIVE,
    CANCELLED,
    AgencyRow,
    CommemorationRow,
    DesignationRow,
    DirectiveRow,
    ObservanceRow,
    PlanTemplateRow,
    RenameRow,
)


@dataclass(frozen=True, slots=True)
class StoredCommemoration:
    commemoration: Commemoration
    status: str
    revision: int
    created_at: datetime
    updated_at: datetime

    @property
    def cancelled(self) -> bool:
        return self.status == CANCELLED


def to_value(row: CommemorationRow) -> Commemoration:
    return Commemoration(
        id=row.id,
        title=row.title,
        category=row.category,
        origin_year=row.origin_year,
        origin_month=row.origin_month,
        origin_day=row.origin_day,
        lunar=lunar_of(row.lunar_month, row.lunar_day, row.lunar_leap),
        description=row.description,
        source=row.source,
        location=row.location,
        note=row.note,
        aliases=tuple(row.aliases or ()),
        lead_days=tuple(row.lead_days) if row.lead_days is not None else None,
        designations=tuple(designation(d, d.directive) for d in row.designations),
        observances=tuple((o.year, o.observed_on) for o in row.observances),
        source_file=row.source_file,
        scope=row.scope,
    )


def designation(row: DesignationRow, directive: DirectiveRow) -> Designation:
    label = directive.name or default_directive_label(directive.year)
    return Designation(year=row.year, directive=row.directive_id, ordinal=row.ordinal,
                       label=label, title=directive.directive or label)


def lunar_of(month: int | None, day: int | None, leap: bool | None) -> LunarDay | None:
    return None if month is None or day is None else LunarDay(month, day, bool(leap))


def to_stored(row: CommemorationRow) -> StoredCommemoration:
    return StoredCommemoration(to_value(row), row.status, row.revision,
                               row.created_at, row.updated_at)


def list_commemorations(session: Session, *, include_cancelled: bool = False
                        ) -> list[StoredCommemoration]:
    query = select(CommemorationRow).order_by(CommemorationRow.id)
    if not include_cancelled:
        query = query.where(CommemorationRow.status == ACTIVE)
    return [to_stored(row) for row in session.scalars(query)]


def get_commemoration(session: Session, ident: str) -> StoredCommemoration | None:
    row = session.get(CommemorationRow, ident)
    return None if row is None else to_stored(row)


def _month_day_filter(start: date, end: date) -> ColumnElement[bool] | None:
    """Rows whose origin day can fall in [start, end]; None when every row can. The engine
    says which origin days those are (`origin_days_between`, the 29 February rule included);
    this only turns its intervals into an indexed condition."""
    if (end - start).days >= 365:
        return None
    md = tuple_(CommemorationRow.origin_month, CommemorationRow.origin_day)
    segments = [md.between(first, last) for first, last in origin_days_between(start, end)]
    # Year-only and lunar origins have no solar day to index; they are few and always
    # considered.
    return or_(CommemorationRow.origin_month.is_(None), *segments)


def occurrences_between(
    session: Session,
    start: date,
    end: date,
    *,
    include_undated: bool = True,
    include_cancelled: bool = False,
) -> list[Occurrence]:
    rows = _rows_for_range(session, start, end, include_cancelled)
    return occurrences([to_value(row) for row in rows], start, end,
                       include_undated=include_undated)


def occurrences_of_year(session: Session, year: int, *, include_cancelled: bool = False
                        ) -> list[Occurrence]:
    """The occurrences that belong to `year`, by date: its solar year's, less a lunar
    occurrence of the previous lunar year falling in January or February, plus the lunar
    year's own last days falling early in `year` + 1 (`last_day_of_year`). What a year's
    plans are made of: one occurrence per commemoration and year."""
    found = [o for o in occurrences_between(session, date(year, 1, 1), date(year, 12, 31),
                                            include_cancelled=include_cancelled)
             if o.year == year]
    end = last_day_of_year(year)
    if end.year > year:
        found += [o for o in occurrences_between(session, date(year + 1, 1, 1), end,
                                                 include_undated=False,
                                                 include_cancelled=include_cancelled)
                  if o.year == year]
    return found


def stored_occurrences_between(
    session: Session,
    start: date,
    end: date,
    *,
    include_undated: bool = True,
    include_cancelled: bool = False,
) -> list[tuple[Occurrence, StoredCommemoration]]:
    """Occurrences with their row's status, revision and timestamps (what a feed needs)."""
    stored = {row.id: to_stored(row)
              for row in _rows_for_range(session, start, end, include_cancelled)}
    found = occurrences([s.commemoration for s in stored.values()], start, end,
                        include_undated=include_undated)
    return [(occ, stored[occ.id]) for occ in found]


def _rows_for_range(session: Session, start: date, end: date, include_cancelled: bool
                    ) -> list[CommemorationRow]:
    # A superset: the engine decides which of these have an anniversary in the range.
    query = select(CommemorationRow).where(or_(CommemorationRow.origin_year < end.year,
                                               CommemorationRow.origin_year.is_(None)))
    if not include_cancelled:
        query = query.where(CommemorationRow.status == ACTIVE)
    condition = _month_day_filter(start, end)
    if condition is not None:
        # Observed days may differ from the origin's: rows with observances are always kept.
        condition = or_(condition, CommemorationRow.observances.any())
        query = query.where(condition)
    return list(session.scalars(query))


def all_values(session: Session) -> list[Commemoration]:
    """Every active commemoration as a value, read with three plain queries (no ORM
    objects): the fast path for building in-memory indexes of the whole catalogue."""
    return [value for value, _ in _values(session, CommemorationRow.status == ACTIVE, None)]


def values_among(session: Session, ids: Select) -> dict[str, tuple[Commemoration, str]]:
    """The commemorations whose ids `ids` selects, cancelled ones too, as values with their
    status: the same three plain queries as `all_values`, for a report over thousands."""
    return {value.id: (value, status)
            for value, status in _values(session, CommemorationRow.id.in_(ids), ids)}


def _values(session: Session, condition: ColumnElement[bool], ids: Select | None
            ) -> list[tuple[Commemoration, str]]:
    """`ids`: also read only those commemorations' designations and observances (None:
    all of them, the cheaper query when nearly every row is wanted)."""
    c = CommemorationRow
    designations = (select(DesignationRow, DirectiveRow)
                    .join(DirectiveRow, DirectiveRow.id == DesignationRow.directive_id)
                    .order_by(DesignationRow.year, DesignationRow.directive_id))
    observances = select(ObservanceRow.commemoration_id, ObservanceRow.year,
                         ObservanceRow.observed_on).order_by(ObservanceRow.year)
    if ids is not None:
        designations = designations.where(DesignationRow.commemoration_id.in_(ids))
        observances = observances.where(ObservanceRow.commemoration_id.in_(ids))
    designated: dict[str, list[Designation]] = defaultdict(list)
    directives: dict[str, DirectiveRow] = {}
    for row, directive in session.execute(designations):
        directive = directives.setdefault(directive.id, directive)
        designated[row.commemoration_id].append(designation(row, directive))
    observed: dict[str, list[tuple[int, date]]] = defaultdict(list)
    for ident, year, day in session.execute(observances):
        observed[ident].append((year, day))
    rows = session.execute(select(
        c.id, c.title, c.category, c.origin_year, c.origin_month, c.origin_day, c.lunar_month,
        c.lunar_day, c.lunar_leap, c.description, c.source, c.location, c.note, c.aliases,
        c.lead_days, c.source_file, c.status, c.scope)
        .where(condition).order_by(c.id))
    return [
        (Commemoration(
            id=ident, title=title, category=category, origin_year=year, origin_month=month,
            origin_day=day, lunar=lunar_of(lunar_month, lunar_day, lunar_leap),
            description=description, source=source, location=location,
            note=note, aliases=tuple(aliases or ()),
            lead_days=tuple(lead_days) if lead_days is not None else None,
            designations=tuple(designated.get(ident, ())),
            observances=tuple(observed.get(ident, ())), source_file=source_file,
            scope=scope), status)
        for (ident, title, category, year, month, day, lunar_month, lunar_day, lunar_leap,
             description, source, location, note, aliases, lead_days, source_file, status,
             scope) in rows
    ]


def template_from(row: PlanTemplateRow) -> PlanTemplate:
    d = row.definition
    return PlanTemplate(
        id=row.id, name=row.name,
        activities=tuple(Activity(kind=a["kind"], title=a["title"], agency=a["agency"],
                                  coordinating=tuple(a["with"]), due=a["due"],
                                  window=tuple(a["window"]) if a["window"] else None)
                         for a in d["activities"]),
        categories=frozenset(d["categories"]) if d["categories"] is not None else None,
        round=d["round"], designated=d["designated"],
        commemorations=(frozenset(d["commemorations"]) if d["commemorations"] is not None
                        else None),
        notice_days=tuple(d["notice_days"]), source=d["source"], source_file=row.source_file)


def plan_templates(session: Session) -> list[PlanTemplate]:
    """The stored plan templates, in file order."""
    return [template_from(row) for row in
            session.scalars(select(PlanTemplateRow).order_by(PlanTemplateRow.position))]


def agencies(session: Session, *, include_inactive: bool = False) -> list[AgencyRow]:
    query = select(AgencyRow).order_by(AgencyRow.id)
    if not include_inactive:
        query = query.where(AgencyRow.active.is_(True))
    return list(session.scalars(query))


def renames(session: Session) -> list[Rename]:
    """The renames of places and agencies as last loaded, oldest first."""
    return [Rename(old=r.old, new=r.new, since=r.since, source=r.source, kind=r.kind,
                   source_file=r.source_file)
            for r in session.scalars(select(RenameRow).order_by(RenameRow.since, RenameRow.id))]
