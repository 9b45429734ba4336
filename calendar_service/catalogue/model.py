"""The catalogue's value types: what a commemoration is, independent of how it is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ..lunar import LunarDate
from ..vietnamese import fold, lunar_label
from .agencies import Agency
from .categories import CATEGORIES, Category
from .plans import PlanTemplate

# Text the catalogue keeps (from TOML or the admin pages) never holds control characters:
# titles reach mail subjects and iCalendar SUMMARY lines, and prose keeps only tabs and
# line breaks.
CONTROL_IN_PROSE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f]")

# A reminder is sent at most this many days ahead of an occurrence: a year, as the planner
# looks no further. The catalogue, subscribers and the admin editor all check against it.
MAX_LEAD_DAYS = 366


def ordinal(origin_year: int, year: int) -> int:
    """Which anniversary `year` holds: 2024 is the 70th of 1954. Below 1 there is none (the
    origin's own year is not an anniversary). The engine, the catalogue's check of a written
    `ordinal` and the export all count with this."""
    return year - origin_year


# Whose observance it is: the nation's, or the province's (and its cities') own. Rankings put
# national before local (the directive's own order); the key is per entry, defaulting to the
# file's `[catalogue] scope`.
SCOPES = ("national", "local")
DEFAULT_SCOPE = "national"


@dataclass(frozen=True, slots=True)
class LunarDay:
    """A lunar origin: the day and month of the Vietnamese lunar calendar it recurs on
    (10/3 âm lịch), `leap` for a leap month. The engine turns it into a solar date in a year
    (`anniversaries.lunar_anniversary`)."""

    month: int
    day: int
    leap: bool = False

    def in_year(self, year: int) -> LunarDate:
        return LunarDate(year, self.month, self.day, self.leap)

    @property
    def label(self) -> str:
        """10/3 âm lịch (10/3 nhuận âm lịch in a leap month)."""
        return lunar_label(self.day, self.month, self.leap)


class Precision(StrEnum):
    DAY = "day"  # the historical date is known to the day
    YEAR = "year"  # only the year is known; a day is never invented


@dataclass(frozen=True, slots=True)
class Designation:
    """A directive names the commemoration's occurrence in its year: (directive, year,
    commemoration, ordinal). Several directives may name the same commemoration, in their
    own years or in the same one."""

    year: int
    directive: str  # the directive's id (`[catalogue] id`, default "chi-thi-<year>")
    ordinal: int | None  # None: an observance with no historical year (Tết)
    # How to name it (the directive's row): not part of what the designation is.
    label: str = field(compare=False)  # what a badge says: "Chỉ thị năm 2024"
    title: str = field(compare=False)  # the directive as issued, in full

    @property
    def text(self) -> str:
        """The short name and the directive in full, for mail, feed descriptions and
        tooltips."""
        return self.label if self.label == self.title else f"{self.label}: {self.title}"


def default_directive_id(year: int) -> str:
    return f"chi-thi-{year}"


def default_directive_label(year: int) -> str:
    return f"Chỉ thị năm {year}"


def designations_of(years, origin_year: int | None) -> tuple[Designation, ...]:
    """Each of `years` designated by that year's default directive ("chi-thi-<year>"):
    for values built in code (tests, benchmarks)."""
    return tuple(Designation(year=y, directive=default_directive_id(y),
                             ordinal=None if origin_year is None else ordinal(origin_year, y),
                             label=default_directive_label(y),
                             title=default_directive_label(y)) for y in sorted(years))


@dataclass(frozen=True, slots=True)
class Commemoration:
    id: str
    title: str
    category: str
    origin_year: int | None  # None: a yearly observance with no historical year (Tết)
    origin_month: int | None
    origin_day: int | None
    description: str
    source: str
    location: str | None = None
    note: str | None = None
    aliases: tuple[str, ...] = ()
    lead_days: tuple[int, ...] | None = None  # None: the category's (anniversaries.lead_days)
    # Which directives name which years' occurrences, by year then directive.
    designations: tuple[Designation, ...] = ()
    # (year, day) pairs: the day an editor chose for that year's ceremony.
    observances: tuple[tuple[int, date], ...] = ()
    lunar: LunarDay | None = None  # a lunar origin (origin_month and origin_day are None)
    source_file: str | None = field(default=None, compare=False)
    scope: str = DEFAULT_SCOPE  # one of SCOPES

    @property
    def designated_years(self) -> frozenset[int]:
        return frozenset(d.year for d in self.designations)

    def designated_by(self, year: int) -> tuple[Designation, ...]:
        return tuple(d for d in self.designations if d.year == year)

    @property
    def precision(self) -> Precision:
        known = self.origin_month is not None or self.lunar is not None
        return Precision.DAY if known else Precision.YEAR

    @property
    def yearless(self) -> bool:
        """An observance with no historical year: it recurs every year without an ordinal."""
        return self.origin_year is None

    @property
    def origin(self) -> date | None:
        """The historical solar date, when it is known to the day."""
        if self.origin_year is None or self.origin_month is None or self.origin_day is None:
            return None
        return date(self.origin_year, self.origin_month, self.origin_day)

    @property
    def origin_key(self) -> str | None:
        """The origin as data: 1954-05-07, 1904, a lunar one as 1789-L01-05 (L04L05: leap
        month 4) or L03-10 without a year; None for a yearly observance. For JSON and UIDs."""
        if self.lunar is not None:
            lunar = f"L{self.lunar.month:02d}{'L' if self.lunar.leap else '-'}{self.lunar.day:02d}"
            return lunar if self.origin_year is None else f"{self.origin_year}-{lunar}"
        origin = self.origin
        return origin.isoformat() if origin is not None else str(self.origin_year)

    @property
    def lunar_origin_label(self) -> str | None:
        """5/1 âm lịch năm 1789; 10/3 âm lịch hằng năm (no historical year)."""
        if self.lunar is None:
            return None
        when = "hằng năm" if self.origin_year is None else f"năm {self.origin_year}"
        return f"{self.lunar.label} {when}"

    @property
    def category_info(self) -> Category:
        return CATEGORIES[self.category]

    def observed_on(self, year: int) -> date | None:
        for y, d in self.observances:
            if y == year:
                return d
        return None

    def matches(self, query: str) -> bool:
        """Accent-insensitive search over the title and the aliases."""
        needle = fold(query)
        return any(needle in fold(text) for text in (self.title, *self.aliases))


@dataclass(frozen=True, slots=True)
class CatalogueFile:
    """A file's [catalogue] header. A directive's file designates a year (`designates`,
    `directive`, `theme`); a standing list (national.toml) designates nothing."""

    path: str
    designates: int | None
    directive: str | None
    theme: str | None
    source: str | None
    scope: str = DEFAULT_SCOPE  # the default of its entries' `scope`
    id: str | None = None  # the directive's id; None for a standing list
    name: str | None = None  # a short name: the badge of a directive, a standing list's title

    @property
    def label(self) -> str:
        if self.designates is None:
            return self.name or self.path
        return self.name or default_directive_label(self.designates)


@dataclass(frozen=True, slots=True)
class Rename:
    """A place or agency renamed, or merged into another, since a date (Quảng Nam into Đà
    Nẵng city on 1/7/2025). Text written before stays as issued; pages show today's name
    beside it (`catalogue.renames`)."""

    old: str
    new: str
    since: date
    source: str
    kind: str = "renamed"  # "renamed": now called `new`; "merged": now part of `new`
    source_file: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Catalogue:
    files: tuple[CatalogueFile, ...]
    commemorations: tuple[Commemoration, ...]
    # From `[[agency]]` and `[[template]]` tables; empty when no file of the load has any
    # (then `load` leaves the stored agencies and templates as they are).
    agencies: tuple[Agency, ...] = ()
    templates: tuple[PlanTemplate, ...] = ()
    renames: tuple[Rename, ...] = ()

    @property
    def directives(self) -> tuple[CatalogueFile, ...]:
        """One per directive id: the first file's header (a directive may span files)."""
        found: dict[str, CatalogueFile] = {}
        for f in self.files:
            if f.designates is not None and f.id is not None:
                found.setdefault(f.id, f)
        return tuple(found.values())
