"""Rendering feeds, with a cache keyed by (selection, window) and checked against the
store's data version, so a warm request does no iCalendar work and at most one tiny query."""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime

from ..app_context import Services
from ..clock import today
from ..store import stored_occurrences_between
from .ical import FeedSite, build_calendar, last_modified
from .query import FeedQuery


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    body: bytes
    gzipped: bytes
    etag: str  # strong validator: a hash of the bytes
    last_modified: datetime
    filename: str


def rendered(body: bytes, modified: datetime, filename: str) -> RenderedFeed:
    return RenderedFeed(
        body=body,
        # mtime=0: the compressed bytes, like the plain ones, depend on the data alone.
        gzipped=gzip.compress(body, compresslevel=6, mtime=0),
        etag=hashlib.sha256(body).hexdigest()[:32],
        last_modified=modified,
        filename=filename,
    )


def render(services: Services, query: FeedQuery, window: tuple[date, date]) -> RenderedFeed:
    """Build the feed from the store (no cache)."""
    with services.database.session() as session:
        items = stored_occurrences_between(session, window[0], window[1],
                                           include_cancelled=True)
    items = [(o, s) for o, s in items if query.accepts(o)]
    body = build_calendar(items, query, FeedSite.of(services), window)
    return rendered(body, last_modified(items), f"{query.slug()}.ics")


class FeedCache:
    """A small LRU of rendered feeds, valid for one store data version."""

    def __init__(self, services: Services, max_entries: int = 64,
                 max_bytes: int = 256 * 2**20) -> None:
        self.services = services
        self.max_entries = max_entries
        # Bounded by size too: a 10,000-commemoration feed is ~29 MB with its gzip copy.
        self.max_bytes = max_bytes
        self.watch = services.watch
        self._entries: OrderedDict[tuple, tuple[int, RenderedFeed]] = OrderedDict()
        self._lock = threading.Lock()
        self._build_locks: dict[tuple, threading.Lock] = {}

    def window(self, query: FeedQuery) -> tuple[date, date]:
        s = self.services.settings
        return query.window(today(self.services.clock), s.feed_past_days, s.feed_future_days)

    def data_version(self) -> int:
        return self.watch.current()

    def invalidate(self) -> None:
        """Called after a write in this process, so its own edits show at once."""
        self.watch.invalidate()

    def get(self, query: FeedQuery) -> RenderedFeed:
        window = self.window(query)
        key = (query, window)
        version = self.data_version()
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and cached[0] == version:
                self._entries.move_to_end(key)
                return cached[1]
            build_lock = self._build_locks.setdefault(key, threading.Lock())
        with build_lock:  # one build per key at a time: no stampede on a cold cache
            with self._lock:
                cached = self._entries.get(key)
                if cached is not None and cached[0] == version:
                    return cached[1]
            feed = render(self.services, query, window)
            with self._lock:
                self._entries[key] = (version, feed)
                self._entries.move_to_end(key)
                while len(self._entries) > 1 and (
                        len(self._entries) > self.max_entries
                        or sum(len(f.body) + len(f.gzipped)
                               for _, f in self._entries.values()) > self.max_bytes):
                    old_key, _ = self._entries.popitem(last=False)
                    self._build_locks.pop(old_key, None)
            return feed
