"""An in-memory month/day index of the catalogue, for the pages and the API.

A listing of 90 days out of 20,000 commemorations must answer in milliseconds. The store's
range query is indexed, but materialising thousands of rows per request costs hundreds of
milliseconds; instead each process keeps the active commemorations sorted by (month, day),
rebuilt when the store's data version changes (checked with one tiny query). A window is then
a binary search per calendar year it touches, and only the requested page becomes
Occurrence objects; counting and filtering work on plain attributes.
"""

from __future__ import annotations

import calendar as calendar_module
import gc
import heapq
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

from ..anniversaries import Occurrence, occurrence_in
from ..catalogue import Commemoration
from ..store.queries import all_values
from ..store.state import VersionWatch
from ..vietnamese import fold

# A candidate is (commemoration, year): cheap to filter, turned into an Occurrence on demand.
Candidate = tuple[Commemoration, int]


@dataclass(frozen=True)
class Arrays:
    """Day-precision commemorations by (month, day, id), with their keys; year-only by id."""

    dated: list[Commemoration]
    keys: list[tuple[int, int]]
    year_only: list[Commemoration]

    def where(self, keep: Callable[[Commemoration], bool]) -> Arrays:
        dated = [c for c in self.dated if keep(c)]
        return Arrays(dated, [(c.origin_month, c.origin_day) for c in dated],
                      [c for c in self.year_only if keep(c)])

    def slice(self, start: date, end: date) -> list[Commemoration]:
        """Those whose anniversary in start.year lies in [start, end] (one calendar year)."""
        lo = bisect_left(self.keys, (start.month, start.day))
        hi = bisect_right(self.keys, (end.month, end.day))
        if calendar_module.isleap(start.year) or not start <= date(start.year, 2, 28) <= end:
            return self.dated[lo:hi]
        # 29/2 origins are observed on 28/2 this year: take them in, and order that day by
        # id, as the engine does.
        hi = max(hi, bisect_right(self.keys, (2, 29)))
        found = self.dated[lo:hi]
        first = bisect_left(self.keys, (2, 28), lo, hi) - lo
        last = bisect_right(self.keys, (2, 29), lo, hi) - lo
        found[first:last] = sorted(found[first:last], key=lambda c: c.id)
        return found


# Which commemorations can pass a filter, independent of the year: categories, "designated
# in some year", and the origin year modulo 5 (a year's round anniversaries are exactly
# those whose origin year has the year's remainder).
Subset = tuple[tuple[str, ...], bool, int | None]
MAX_SUBSETS = 32


@dataclass(frozen=True)
class Snapshot:
    version: int
    all: Arrays
    observed: list[Commemoration]  # those with an editor-chosen day in some year
    search: dict[str, str]  # id -> folded title and aliases
    _subsets: OrderedDict = field(default_factory=OrderedDict, compare=False)

    @classmethod
    def build(cls, version: int, values: list[Commemoration]) -> Snapshot:
        dated = sorted((c for c in values if c.origin_month is not None),
                       key=lambda c: (c.origin_month, c.origin_day, c.id))
        return cls(
            version=version,
            all=Arrays(dated, [(c.origin_month, c.origin_day) for c in dated],
                       sorted((c for c in values if c.origin_month is None),
                              key=lambda c: c.id)),
            observed=[c for c in values if c.observances],
            search={c.id: " | ".join(fold(t) for t in (c.title, *c.aliases)) for c in values},
        )

    def subset(self, key: Subset) -> Arrays:
        categories, designated, residue = key
        if not categories and not designated and residue is None:
            return self.all
        found = self._subsets.get(key)
        if found is None:
            chosen = set(categories)
            found = self.all.where(lambda c: (not chosen or c.category in chosen)
                                   and (not designated or bool(c.designated_years))
                                   and (residue is None or c.origin_year % 5 == residue))
            self._subsets[key] = found
            while len(self._subsets) > MAX_SUBSETS:
                self._subsets.popitem(last=False)
        return found

    def candidates(self, start: date, end: date, *, categories: tuple[str, ...] = (),
                   designated: bool = False, round_only: bool = False,
                   include_undated: bool = True) -> Iterator[Candidate]:
        """(commemoration, year) in date order, undated ones after their year's dated ones;
        only those the given filters could accept (the caller's own test still decides).
        Year-precision ones without a chosen day are yielded for every year the range
        touches, as the engine does."""
        for year in range(start.year, end.year + 1):
            arrays = self.subset((categories, designated, year % 5 if round_only else None))
            s, e = max(start, date(year, 1, 1)), min(end, date(year, 12, 31))
            chosen_days = {c.id: day for c in self.observed
                           if (day := c.observed_on(year)) is not None and c.origin_year < year}
            ordinary = [(c, year) for c in arrays.slice(s, e)
                        if c.origin_year < year and c.id not in chosen_days]
            chosen = sorted(((day, c.id, c) for c in self.observed
                             if (day := chosen_days.get(c.id)) is not None and s <= day <= e))
            if chosen:
                # Few chosen days: merge them into the (already ordered) ordinary ones.
                leap = calendar_module.isleap(year)
                yield from merge(
                    ((_day_key(c, leap), c.id, (c, year)) for c, _ in ordinary),
                    (((day.month, day.day), ident, (c, year)) for day, ident, c in chosen),
                )
            else:
                yield from ordinary
            if include_undated:
                for c in arrays.year_only:
                    if c.origin_year < year and c.id not in chosen_days:
                        yield (c, year)


def _day_key(c: Commemoration, leap: bool) -> tuple[int, int]:
    if not leap and c.origin_month == 2 and c.origin_day == 29:
        return (2, 28)
    return (c.origin_month, c.origin_day)


def merge(*streams) -> Iterator[Candidate]:
    for _, _, candidate in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
        yield candidate


class ListingIndex:
    def __init__(self, database, watch: VersionWatch) -> None:
        self.database = database
        self.watch = watch
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        version = self.watch.current()
        current = self._snapshot
        if current is not None and current.version == version:
            return current
        with self._lock:  # one rebuild at a time
            current = self._snapshot
            if current is None or current.version != version:
                with self.database.session() as session:
                    values = all_values(session)
                current = Snapshot.build(version, values)
                self._snapshot = current
                # The snapshot lives until the data changes: move it out of the cyclic
                # collector's reach, whose full passes over 20,000 commemorations were the
                # slow tail of listing requests. (The previous snapshot, unfrozen first,
                # is collected normally.)
                gc.unfreeze()
                gc.collect()
                gc.freeze()
        return current

    def page(self, start: date, end: date,
             keep: Callable[[Candidate, Snapshot], bool] | None,
             offset: int, limit: int, **prefilter) -> tuple[list[Occurrence], int]:
        """The page [offset, offset+limit) of the candidates `keep` accepts (all, when None),
        and how many there are. `prefilter` (categories, designated, round_only) narrows the
        candidates through cached subsets before `keep` sees them."""
        snap = self.snapshot()
        candidates = snap.candidates(start, end, **prefilter)
        if keep is not None:
            candidates = (c for c in candidates if keep(c, snap))
        total = 0
        page: list[Occurrence] = []
        for candidate in candidates:
            if offset <= total < offset + limit:
                occ = occurrence_in(*candidate)
                assert occ is not None
                page.append(occ)
            total += 1
        return page, total
