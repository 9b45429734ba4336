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
import heapq
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from ..anniversaries import Occurrence, occurrence_in
from ..catalogue import Commemoration
from ..store.queries import all_values
from ..store.state import VersionWatch
from ..vietnamese import fold

# A candidate is (commemoration, year): cheap to filter, turned into an Occurrence on demand.
Candidate = tuple[Commemoration, int]


@dataclass(frozen=True)
class Snapshot:
    version: int
    dated: list[Commemoration]  # by (origin month, origin day, id)
    keys: list[tuple[int, int]]
    year_only: list[Commemoration]  # by id
    observed: list[Commemoration]  # those with an editor-chosen day in some year
    search: dict[str, str]  # id -> folded title and aliases

    @classmethod
    def build(cls, version: int, values: list[Commemoration]) -> Snapshot:
        dated = sorted((c for c in values if c.origin_month is not None),
                       key=lambda c: (c.origin_month, c.origin_day, c.id))
        return cls(
            version=version,
            dated=dated,
            keys=[(c.origin_month, c.origin_day) for c in dated],
            year_only=sorted((c for c in values if c.origin_month is None), key=lambda c: c.id),
            observed=[c for c in values if c.observances],
            search={c.id: " | ".join(fold(t) for t in (c.title, *c.aliases)) for c in values},
        )

    def _slice(self, start: date, end: date) -> list[Commemoration]:
        """Day-precision commemorations whose anniversary in start.year lies in [start, end]
        (both in one calendar year)."""
        lo = bisect_left(self.keys, (start.month, start.day))
        hi = bisect_right(self.keys, (end.month, end.day))
        if not calendar_module.isleap(start.year) and start <= date(start.year, 2, 28) <= end:
            hi = max(hi, bisect_right(self.keys, (2, 29)))  # 29/2 is observed on 28/2
        found = self.dated[lo:hi]
        if not calendar_module.isleap(start.year) and start <= date(start.year, 2, 28) <= end:
            # 28/2 and 29/2 origins share 28/2 this year: order that day by id, as the engine.
            first = bisect_left(self.keys, (2, 28), lo, hi) - lo
            last = bisect_right(self.keys, (2, 29), lo, hi) - lo
            found[first:last] = sorted(found[first:last], key=lambda c: c.id)
        return found

    def candidates(self, start: date, end: date, include_undated: bool = True
                   ) -> Iterator[Candidate]:
        """(commemoration, year) in date order, undated ones after their year's dated ones.
        Year-precision ones without a chosen day are yielded for every year the range
        touches, as the engine does."""
        for year in range(start.year, end.year + 1):
            s, e = max(start, date(year, 1, 1)), min(end, date(year, 12, 31))
            chosen_days = {c.id: day for c in self.observed
                           if (day := c.observed_on(year)) is not None and c.origin_year < year}
            ordinary = [(c, year) for c in self._slice(s, e)
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
                for c in self.year_only:
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
                    current = Snapshot.build(version, all_values(session))
                self._snapshot = current
        return current

    def page(self, start: date, end: date,
             keep: Callable[[Candidate, Snapshot], bool] | None,
             offset: int, limit: int) -> tuple[list[Occurrence], int]:
        """The page [offset, offset+limit) of the candidates `keep` accepts (all, when None),
        and how many there are."""
        snap = self.snapshot()
        candidates = snap.candidates(start, end)
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
