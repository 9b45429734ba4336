"""The anniversary engine: which commemorations fall in a date range, and with which ordinal.

Pure Python over catalogue values. Every date rule is written here once, as one function —
the store's indexed range query, the pages' in-memory index, the feed, the reminders and the
pages all ask this module — so "the 70th anniversary on 07/5/2024" is computed in exactly one
place. The rules (README, "Rules of the anniversary engine"):
- every commemoration recurs every year; the ordinal is `catalogue.model.ordinal` (year −
  origin year), and ordinal 0 (the event's own year) is not an anniversary;
- round: ordinal divisible by 5 (rank 1), more strongly by 10 (rank 2) — `is_round`,
  `round_rank`; round years get the category's longer reminder runway (`lead_days`);
- a 29 February origin is observed on 28 February in common years (the last day of the
  month it happened in, the convention Vietnamese and most civil calendars use) —
  `anniversary_date`;
- a year-only origin never gets an invented day: the occurrence has `date=None` ("date to be
  decided") unless an editor chose an observance day for that year — `occurrence_in`;
- a lunar origin recurs on its lunar day of each lunar year, converted at UTC+7; a lunar day
  the year lacks moves to the nearest one that exists — `lunar_anniversary`; an observance
  with no historical year (Tết) recurs every year without an ordinal and is never round.
"""

from __future__ import annotations

import gc
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date, timedelta
from functools import lru_cache
from operator import attrgetter

from . import lunar as lunar_calendar
from .catalogue.model import Commemoration, Designation, LunarDay, Precision, ordinal
from .lunar import LunarDate
from .vietnamese import lunar_label

ROUND_EVERY = 5  # Nghị định 145/2013/NĐ-CP: the larger ceremonies in years ending in 0 or 5


def is_round(ordinal: int | None) -> bool:
    """A round anniversary: the 5th, 10th, 15th… (an observance without ordinal never is)."""
    return ordinal is not None and ordinal % ROUND_EVERY == 0


def round_rank(ordinal: int | None) -> int:
    """2 for a multiple of 10 ("năm tròn"), 1 for a multiple of 5 ("năm chẵn"), else 0."""
    if ordinal is None or not is_round(ordinal):
        return 0
    return 2 if ordinal % (2 * ROUND_EVERY) == 0 else 1


def lead_days(c: Commemoration, ordinal: int | None) -> tuple[int, ...]:
    """How many days ahead reminders go out: the entry's own, else its category's, with the
    longer runway in round years."""
    if c.lead_days is not None:
        return c.lead_days
    category = c.category_info
    return category.lead_days_round if is_round(ordinal) else category.lead_days


def anniversary_date(month: int, day: int, year: int) -> date:
    """The day a (month, day) origin recurs in `year`; 29/2 becomes 28/2 in common years."""
    if month == 2 and day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return date(year, month, day)


@lru_cache(maxsize=16384)  # a catalogue has few distinct lunar days: most calls are hits
def lunar_anniversary(origin: LunarDay, year: int) -> tuple[date, LunarDate]:
    """The solar day on which a lunar origin recurs in lunar year `year`, and the lunar date
    that day is.

    A lunar day the year lacks is observed on the nearest day that exists, as Vietnamese
    practice keeps a giỗ:
    - a leap month the year does not have (leap 4 in a year whose leap month is 6, or none)
      → the regular month of the same number;
    - day 30 of a 29-day month → the month's last day, 29.
    The returned lunar date then differs from the origin (the occurrence is `shifted`).
    Lunar year `year` begins with Tết in solar year `year`; a day late in lunar month 11 or
    12 falls in January or February of solar year `year` + 1.
    """
    month = lunar_calendar.find_month(year, origin.month, origin.leap)
    if month is None:  # the leap month is absent this year
        month = lunar_calendar.find_month(year, origin.month, False)
        assert month is not None  # every lunar year has the twelve regular months
    day = min(origin.day, month.length)
    return (month.start + timedelta(days=day - 1),
            LunarDate(year, month.month, day, month.leap))


def last_day_of_year(year: int) -> date:
    """The last day an occurrence of `year` can fall on: a lunar origin's belongs to lunar
    year `year`, whose last day is the eve of the next Tết (in January or February of
    `year` + 1). What the year's plans look through, so late lunar days are not lost."""
    if not lunar_calendar.FIRST_YEAR <= year + 1 <= lunar_calendar.LAST_YEAR:
        return date(year, 12, 31)
    return lunar_calendar.tet(year + 1) - timedelta(days=1)


# Every (month, day) an origin can have, in order: the days of a leap year.
_ORIGIN_DAYS = tuple(((d := date(2000, 1, 1) + timedelta(days=i)).month, d.day)
                     for i in range(366))


@lru_cache(maxsize=64)
def _recurrences(year: int) -> tuple[date, ...]:
    """`anniversary_date` of every origin day in `year`, in origin-day order."""
    return tuple(anniversary_date(month, day, year) for month, day in _ORIGIN_DAYS)


def origin_days_between(start: date, end: date
                        ) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The origin (month, day) intervals whose anniversary falls in [start, end]: one closed
    interval per calendar year the range touches (empty years left out).

    What lets a store or an index find a range's commemorations by an index on the origin's
    month and day, without knowing the 29 February rule: it asks `anniversary_date` here,
    which never moves a later origin day before an earlier one, so each year's answer is
    one interval.
    """
    found = []
    for year in range(start.year, end.year + 1):
        days = _recurrences(year)
        first = bisect_left(days, max(start, date(year, 1, 1)))
        last = bisect_right(days, min(end, date(year, 12, 31))) - 1
        if first <= last:
            found.append((_ORIGIN_DAYS[first], _ORIGIN_DAYS[last]))
    return found


@dataclass(frozen=True, slots=True)
class Occurrence:
    commemoration: Commemoration
    year: int  # for a lunar origin, the lunar year (its day may fall early in year + 1)
    date: date | None  # None: only the year is known and no observance day is set
    ordinal: int | None  # None: an observance with no historical year (Tết)
    designated: bool  # a directive names this occurrence
    observed: bool  # `date` is a day an editor chose, not the historical day
    shifted: bool  # 29 February observed on 28 February; a lunar day the year lacks
    lunar: LunarDate | None = None  # the lunar date of `date`, for a lunar origin

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
        return is_round(self.ordinal)

    @property
    def designated_by(self) -> tuple[Designation, ...]:
        """The directives that name this occurrence (one, several, or none)."""
        return self.commemoration.designated_by(self.year) if self.designated else ()

    @property
    def lunar_label(self) -> str | None:
        """10/3 âm lịch: the lunar date of the day, shown beside the solar date wherever the
        origin is lunar."""
        if self.lunar is None:
            return None
        return lunar_label(self.lunar.day, self.lunar.month, self.lunar.leap)

    @property
    def to_be_decided(self) -> bool:
        return self.date is None

    @property
    def title(self) -> str:
        """Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ; a yearly observance's own title (Tết
        Nguyên đán)."""
        if self.ordinal is None:
            return self.commemoration.title
        return f"Kỷ niệm {self.ordinal} năm {self.commemoration.title}"

    @property
    def lead_days(self) -> tuple[int, ...]:
        return lead_days(self.commemoration, self.ordinal)

    def sort_key(self) -> tuple[date, int, str]:
        # Undated occurrences sort after every dated one of their year.
        return (self.date or date(self.year, 12, 31), 1 if self.date is None else 0, self.id)


def _fast_constructor(cls):
    """A frozen dataclass's own __init__ sets each field through object.__setattr__ looked
    up anew (frozen: no plain assignment): half the cost of a listing's 200,000 occurrences.
    This sets the slots through their descriptors, fetched once; the instance is the same
    (frozen, equal, hashable) — tests/test_lunar.py compares the two."""
    setters = tuple(getattr(cls, f.name).__set__ for f in fields(cls))
    new = object.__new__

    def construct(*values):
        instance = new(cls)
        for setter, value in zip(setters, values):
            setter(instance, value)
        return instance

    return construct


_new_occurrence = _fast_constructor(Occurrence)


def occurrence_in(c: Commemoration, year: int) -> Occurrence | None:
    """The commemoration's occurrence in `year` (a lunar origin's: in lunar year `year`), or
    None before its first anniversary."""
    nth = None if c.origin_year is None else ordinal(c.origin_year, year)
    if nth is not None and nth < 1:
        return None
    observed_day = c.observed_on(year) if c.observances else None
    shifted = False
    lunar_date = None
    if c.lunar is not None:
        if not lunar_calendar.FIRST_YEAR <= year <= lunar_calendar.LAST_YEAR:
            return None  # beyond the conversion's years (the service asks only 1900–2200)
        lunar_day, lunar_date = lunar_anniversary(c.lunar, year)
        shifted = (lunar_date.month, lunar_date.day, lunar_date.leap) != (
            c.lunar.month, c.lunar.day, c.lunar.leap)
        if observed_day is not None:
            day: date | None = observed_day
            lunar_date = lunar_calendar.from_solar(observed_day)
            shifted = False
        else:
            day = lunar_day
    elif observed_day is not None:
        day = observed_day
    elif c.origin_month is not None and c.origin_day is not None:
        day = anniversary_date(c.origin_month, c.origin_day, year)
        shifted = day.day != c.origin_day
    else:
        day = None
    return _new_occurrence(c, year, day, nth, year in c.designated_years,
                           observed_day is not None, shifted, lunar_date)


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
    # A lunar year's late days fall early in the next solar year: look one year back.
    lunar_years = range(start.year - 1, end.year + 1)
    for c in commemorations:
        for year in (years if c.lunar is None else lunar_years):
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
    with _collector_paused():
        found = list(iter_occurrences(commemorations, start, end,
                                      include_undated=include_undated))
    # The order of `Occurrence.sort_key`, computed faster: the dated ones by (date, id) with
    # a C-level key, then each year's undated ones (by id) placed after that year's dated.
    # Two stable sorts on one key each (ids, then dates) compare much faster than one on
    # tuples; the first is nearly free, as callers pass commemorations in id order.
    found.sort(key=_ID)
    dated = [o for o in found if o.date is not None]
    dated.sort(key=_DATE)
    if len(dated) == len(found):
        return dated
    undated = [o for o in found if o.date is None]
    undated.sort(key=_YEAR)
    merged: list[Occurrence] = []
    i = 0
    for occ in undated:
        # `bisect` on dates: the first dated occurrence after this year's 31 December.
        cut = bisect_right(dated, date(occ.year, 12, 31), lo=i, key=_DATE)
        merged.extend(dated[i:cut])
        merged.append(occ)
        i = cut
    merged.extend(dated[i:])
    return merged


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a listing allocates its occurrences: a
    year of 20,000 commemorations makes 200,000 objects, none in a cycle, and the collector
    would otherwise rescan them all again and again (a third of the time, bench/lunar.py).
    Reference counting still frees everything; another thread's pause is left alone."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_ID = attrgetter("commemoration.id")
_DATE = attrgetter("date")
_YEAR = attrgetter("year")


def next_dated_occurrence(c: Commemoration, as_of: date, years: int = 6) -> Occurrence | None:
    """The first occurrence with a day, on or after `as_of`, within `years` years (a
    year-only commemoration may have no chosen day for a while)."""
    for year in range(as_of.year - (c.lunar is not None), as_of.year + years):
        occ = occurrence_in(c, year)
        if occ is not None and occ.date is not None and occ.date >= as_of:
            return occ
    return None


def next_occurrence(c: Commemoration, as_of: date) -> Occurrence | None:
    """The first occurrence on or after `as_of` (the current year's if undated)."""
    for year in range(as_of.year - (c.lunar is not None), as_of.year + 2):
        occ = occurrence_in(c, year)
        if occ is None:
            continue
        if occ.date is None or occ.date >= as_of:
            return occ
    return None
