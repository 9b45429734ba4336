"""Plan templates applied to occurrences: which tasks an occurrence calls for, with their
titles and due dates. Pure Python, like the engine it builds on.

Rules:
- an occurrence takes the first template (in file order) that applies to it: its category,
  whether its year is round, whether a directive designates it, and its commemoration must
  all be among those the template names (what a template leaves out, it does not check);
- a task's due date is the occurrence's date plus the activity's offset; an occurrence with
  no day yet (a year-only origin without an observance day) gives tasks whose due date is
  to be decided (None) — never an invented one; so does its run window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .anniversaries import Occurrence
from .catalogue.plans import Activity, PlanTemplate
from .vietnamese import official_date


def applies(template: PlanTemplate, occ: Occurrence) -> bool:
    c = occ.commemoration
    return ((template.categories is None or c.category in template.categories)
            and (template.round is None or template.round == occ.is_round)
            and (template.designated is None or template.designated == occ.designated)
            and (template.commemorations is None or c.id in template.commemorations))


def template_for(templates: Iterable[PlanTemplate], occ: Occurrence) -> PlanTemplate | None:
    return next((t for t in templates if applies(t, occ)), None)


def span(occ: Occurrence) -> str:
    """The directive's way of writing the years: 07/5/1954 - 07/5/2024, or 1904 - 2024."""
    c = occ.commemoration
    if c.lunar is not None:  # 10/3 âm lịch; 1789 - 2026, 5/1 âm lịch
        lunar = occ.lunar_label or c.lunar.label
        return lunar if c.origin_year is None else f"{c.origin_year} - {occ.year}, {lunar}"
    if c.origin is not None and occ.date is not None and not occ.observed:
        return f"{official_date(c.origin)} - {official_date(occ.date)}"
    return f"{c.origin_year} - {occ.year}"


def task_title(pattern: str, occ: Occurrence) -> str:
    return pattern.format(occurrence=f"{occ.title} ({span(occ)})", title=occ.title,
                          name=occ.commemoration.title,
                          ordinal=occ.ordinal if occ.ordinal is not None else "", year=occ.year)


def shifted(day: date | None, offset: int) -> date | None:
    return None if day is None else day + timedelta(days=offset)


@dataclass(frozen=True, slots=True)
class PlannedTask:
    """One task a template calls for, as generation would create it."""

    commemoration_id: str
    year: int
    template_id: str
    activity_key: str  # stable within the template (kind@agency)
    kind: str
    title: str
    agency: str
    coordinating: tuple[str, ...]
    due_offset: int
    due: date | None  # None: to be decided (the occurrence has no day yet)
    window_offsets: tuple[int, int] | None
    window: tuple[date, date] | None
    notice_days: tuple[int, ...]


def planned(occ: Occurrence, template: PlanTemplate, activity: Activity) -> PlannedTask:
    window = None
    if activity.window is not None and occ.date is not None:
        window = (occ.date + timedelta(days=activity.window[0]),
                  occ.date + timedelta(days=activity.window[1]))
    return PlannedTask(
        commemoration_id=occ.id, year=occ.year, template_id=template.id,
        activity_key=activity.key, kind=activity.kind, title=task_title(activity.title, occ),
        agency=activity.agency, coordinating=activity.coordinating, due_offset=activity.due,
        due=shifted(occ.date, activity.due), window_offsets=activity.window, window=window,
        notice_days=template.notice_days)


def plan_for(occ: Occurrence, templates: Sequence[PlanTemplate]) -> list[PlannedTask]:
    """The tasks the first applicable template calls for (none when no template applies)."""
    template = template_for(templates, occ)
    if template is None:
        return []
    return [planned(occ, template, activity) for activity in template.activities]
