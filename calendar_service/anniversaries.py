"""The anniversary engine: which commemorations fall in a date range, and with which ordinal.

Pure Python over catalogue values; the store, the feed, the reminders and the pages all ask
this one module, so "the 70th anniversary on 07/5/2024" is computed in exactly one place.

Rules, in the words of DESIGN.md:
- every commemoration recurs every year; ordinal = year − origin year; ordinal 0 (the event's
  own year) is not an anniversary;
- round: ordinal divisible by 5 (rank 1), more strongly by 10 (rank 2);
- a 29 February origin is observed on 28 February in common years (the last day of the
  month it happened in, which is the convention Vietnamese and most civil calendars use);
- a year-only origin never gets an invented day: the occurrence has `date=None` ("date to be
  decided") unless an editor chose an observance day for that year.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from .catalogue.model import Commemoration, Precision


def anniversary_date(month: int, day: int, year: int) -> date:
    """The day a (month, day) origin recurs in `year`; 29/2 becomes 28/2 in common years."""
    if month == 2 and day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return date(year, month, day)


def round_rank(ordinal: int) -> int:
    """2 for a multiple of 10, 1 for a multiple of 5, else 0."""
    if ordinal % 10 == 0:
        return 2
    if ordinal % 5 == 0:
        return 1
    return 0


@dataclass(frozen=True, slots=True)
class Occurrence:
    commemoration: Commemoration
    year: int
    date: date | None  # None: only the year is known and no observance day is set
    ordinal: int
    designated: bool  # a directive names this occurrence
    observed: bool  # `date` is a day an editor chose, not the historical day
    shifted: bool  # a 29 February origin observed on 28 February

    @property
    def id(self) -> str:
        return self.commemoration.id

    @property
    def precision(self) -> Precision:
        return self.commemoration.precision

    @property
    def round_rank(self) -> int:
        return round_rank(self.ordinal)

    @property
    def is_round(self) -> bool:
        return self.ordinal % 5 == 0

    @property
    def to_be_decided(self) -> bool:
        return self.date is None

    @property
    def title(self) -> str:
        """Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ."""
        return f"Kỷ niệm {self.ordinal} năm {self.commemoration.title}"

    @property
    def lead_days(self) -> tuple[int, ...]:
        return self.commemoration.lead_days_for(self.ordinal)

    def sort_key(self) -> tuple[date, int, str]:
        # Undated occurrences sort after every dated one of their year.
        return (self.date or date(self.year, 12, 31), 1 if self.date is None else 0, self.id)


def occurrence_in(c: Commemoration, year: int) -> Occurrence | None:
    """The commemoration's occurrence in `year`, or None before its first anniversary."""
    ordinal = year - c.origin_year
    if ordinal < 1:
        return None
    observed_day = c.observed_on(year) if c.observances else None
    shifted = False
    if observed_day is not None:
        day: date | None = observed_day
    elif c.origin_month is not None and c.origin_day is not None:
        day = anniversary_date(c.origin_month, c.origin_day, year)
        shifted = day.day != c.origin_day
    else:
        day = None
    return Occurrence(
        commemoration=c,
        year=year,
        date=day,
        ordinal=ordinal,
        designated=year in c.designated_years,
        observed=observed_day is not None,
        shifted=shifted,
    )


def iter_occurrences(
    commemorations: Iterable[Commemoration],
    start: date,
    end: date,
    *,
    include_undated: bool = True,
) -> Iterator[Occurrence]:
    """Occurrences dated within [start, end], unordered.

    With `include_undated`, also the year-only occurrences that have no day yet, for every
    year the range touches: "date to be decided in 2024" concerns anyone looking at 2024.
    """
    if end < start:
        return
    years = range(start.year, end.year + 1)
    for c in commemorations:
        for year in years:
            occ = occurrence_in(c, year)
            if occ is None:
                continue
            if occ.date is None:
                if include_undated:
                    yield occ
            elif start <= occ.date <= end:
                yield occ


def occurrences(
    commemorations: Iterable[Commemoration],
    start: date,
    end: date,
    *,
    include_undated: bool = True,
) -> list[Occurrence]:
    """Occurrences in [start, end], by date; undated ones at the end of their year."""
    found = list(iter_occurrences(commemorations, start, end, include_undated=include_undated))
    found.sort(key=Occurrence.sort_key)
    return found


def next_dated_occurrence(c: Commemoration, as_of: date, years: int = 6) -> Occurrence | None:
    """The first occurrence with a day, on or after `as_of`, within `years` years (a
    year-only commemoration may have no chosen day for a while)."""
    for year in range(as_of.year, as_of.year + years):
        occ = occurrence_in(c, year)
        if occ is not None and occ.date is not None and occ.date >= as_of:
            return occ
    return None


def next_occurrence(c: Commemoration, as_of: date) -> Occurrence | None:
    """The first occurrence on or after `as_of` (the current year's if undated)."""
    for year in range(max(as_of.year, c.origin_year + 1), as_of.year + 2):
        occ = occurrence_in(c, year)
        if occ is None:
            continue
        if occ.date is None or occ.date >= as_of:
            return occ
    return None
