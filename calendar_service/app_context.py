"""What a running command or web process needs: settings, the clock, the database, and the
per-process caches built over the store — each built once, lazily, and reached through a
typed accessor (never a string key)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from .clock import Clock, SystemClock
from .config import Settings
from .listing import ListingIndex
from .listing.renames import RenameBook
from .store import Database
from .store.state import VersionWatch

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    clock: Clock | None = None
    _database: Database | None = field(default=None, repr=False)
    _shared: dict[Callable, object] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = SystemClock(self.settings.tz)
        if self._database is not None:
            self._shared[_open_database] = self._database

    def shared(self, build: Callable[[Services], T]) -> T:
        """The one instance of `build(self)` in this process: `build` is a class (or a
        factory) and is its own key, so a feature keeps its cache without naming it here,
        and every caller gets it typed."""
        found = self._shared.get(build)
        if found is None:
            with self._lock:  # built once, however many threads ask (re-entrant: builds nest)
                found = self._shared.get(build)
                if found is None:
                    found = self._shared[build] = build(self)
        return found  # type: ignore[return-value]

    @property
    def database(self) -> Database:
        return self.shared(_open_database)

    @property
    def watch(self) -> VersionWatch:
        """The store's data version as this process sees it: what every cache checks. A
        write in this process calls `watch.invalidate()` so that its own change shows at
        once."""
        return self.shared(_watch)

    @property
    def listing(self) -> ListingIndex:
        """The in-memory index the pages and the API list occurrences from."""
        return self.shared(_listing_index)

    @property
    def renames(self) -> RenameBook:
        """Today's names of renamed places and agencies (`[[rename]]`), as of a date."""
        return self.shared(RenameBook.of)


def _open_database(services: Services) -> Database:
    # Never creates a SQLite file: only `db upgrade` and `restore` start a database.
    return Database(services.settings.database_url, create=False)


def _watch(services: Services) -> VersionWatch:
    return VersionWatch(services.database, services.settings.feed_version_check_seconds)


def _listing_index(services: Services) -> ListingIndex:
    return ListingIndex(services.database, services.watch)
