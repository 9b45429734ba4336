"""An in-memory index of occurrences, for the pages and the API.

A listing of 90 days out of 20,000 commemorations must answer in milliseconds, and its
ordering and filters must be exactly the engine's. So the index holds no rule of its own:
for each calendar year a listing touches, it asks the engine for that year's occurrences
(`anniversaries.occurrences`, already in the engine's order) once per data version, and
keeps them with their dates beside them. A window is then a binary search on those dates,
and a filter (categories, designated, round years) is applied once per year and kept, so
counting a filtered listing is a binary search too.

The commemorations are re-read from the store when its data version changes (checked with
one tiny query at most every `CALENDAR_FEED_VERSION_CHECK_SECONDS`); years and filtered
years are kept in small LRU caches, so memory stays bounded whatever years are asked for.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice

from ..anniversaries import Occurrence, occurrences
from ..catalogue import Commemoration
from ..catalogue.model import Rename
from ..store.queries import all_values
from ..store.queries import renames as stored_renames
from ..store.state import VersionWatch
from ..vietnamese import fold

MAX_YEARS = 12  # calendar years kept per snapshot (the rolling listings touch two or three)
MAX_FILTERED = 64  # (year, filter) selections kept per snapshot

Accepts = Callable[[Occurrence], bool]


@dataclass(frozen=True, slots=True)
class Year:
    """One calendar year's occurrences, in the engine's order: the dated ones by (date, id)
    with their dates beside them for searching, then the year-only ones without a day."""

    dated: list[Occurrence]
    days: list[date]
    undated: list[Occurrence]

    @classmethod
    def of(cls, found: list[Occurrence]) -> Year:
        dated = [o for o in found if o.date is not None]
        return cls(dated, [o.date for o in dated], [o for o in found if o.date is None])

    def where(self, accepts: Accepts) -> Year:
        return Year.of([o for o in (*self.dated, *self.undated) if accepts(o)])

    def between(self, start: date, end: date, include_undated: bool) -> list[Occurrence]:
        found = self.dated[bisect_left(self.days, start):bisect_right(self.days, end)]
        return found + self.undated if include_undated else found


class _LRU(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def keep(self, key: Hashable, value):
        self[key] = value
        while len(self) > self.size:
            self.popitem(last=False)
        return value


@dataclass
class Snapshot:
    """The active commemorations at one data version, and what was computed from them."""

    version: int
    values: list[Commemoration]
    search: dict[str, str]  # id -> folded title and aliases
    renames: tuple[Rename, ...] = ()  # of places and agencies, read with the values
    _years: _LRU = field(default_factory=lambda: _LRU(MAX_YEARS))
    _filtered: _LRU = field(default_factory=lambda: _LRU(MAX_FILTERED))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, version: int, values: list[Commemoration],
              renames: tuple[Rename, ...] = ()) -> Snapshot:
        return cls(version, values,
                   {c.id: " | ".join(fold(t) for t in (c.title, *c.aliases)) for c in values},
                   renames)

    def year(self, year: int, accepts: Accepts | None = None, key: Hashable = None) -> Year:
        """The year's occurrences, all of them or those `accepts` takes; `key` names the
        filter (the same key must always mean the same filter)."""
        with self._lock:
            whole = self._years.get(year)
            if whole is None:
                # Outside the lock this could run twice at once; the result would be equal.
                whole = self._years.keep(year, Year.of(occurrences(
                    self.values, date(year, 1, 1), date(year, 12, 31))))
            else:
                self._years.move_to_end(year)
            if accepts is None:
                return whole
            found = self._filtered.get((year, key))
            if found is None:
                return self._filtered.keep((year, key), whole.where(accepts))
            self._filtered.move_to_end((year, key))
            return found

    def between(self, start: date, end: date, accepts: Accepts | None = None,
                key: Hashable = None, include_undated: bool = True) -> Iterator[Occurrence]:
        """Occurrences in [start, end] in the engine's order; the undated ones of every year
        the range touches after that year's dated ones, as the engine lists them."""
        for year in range(start.year, end.year + 1):
            yield from self.year(year, accepts, key).between(start, end, include_undated)

    def count(self, start: date, end: date, accepts: Accepts | None = None,
              key: Hashable = None, include_undated: bool = True) -> int:
        total = 0
        for year in range(start.year, end.year + 1):
            found = self.year(year, accepts, key)
            total += bisect_right(found.days, end) - bisect_left(found.days, start)
            total += len(found.undated) if include_undated else 0
        return total


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
                    found = tuple(stored_renames(session))
                current = self._snapshot = Snapshot.build(version, values, found)
        return current

    def page(self, start: date, end: date, *, accepts: Accepts | None = None,
             key: Hashable = None, text: str = "", offset: int = 0,
             limit: int | None = None) -> tuple[list[Occurrence], int]:
        """The page [offset, offset + limit) of the occurrences in [start, end] that
        `accepts` takes (all, when None) and whose title or other names contain the folded
        `text`, and how many there are in all."""
        snap = self.snapshot()
        stop = None if limit is None else offset + limit
        if not text:
            found = list(islice(snap.between(start, end, accepts, key), offset, stop))
            return found, snap.count(start, end, accepts, key)
        needle = fold(text)
        matching = [o for o in snap.between(start, end, accepts, key)
                    if needle in snap.search[o.id]]
        return matching[offset:stop], len(matching)
