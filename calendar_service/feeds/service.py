"""Rendering feeds, with a cache keyed by (selection, window) and checked against the
store's data version, so a warm request does no iCalendar work and at most one tiny query.

Two things keep a request from ever waiting on a long build (a 20,000-commemoration feed
takes half a minute to render from nothing):
- every VEVENT's bytes are kept per occurrence and row state (`EventCache`), so a build
  after the first — another selection, another window, the next data version — renders
  only the occurrences it has not seen and concatenates the rest;
- a request whose entry is stale (the data or the window moved on) or missing starts the
  build in a background thread and waits for it at most `CALENDAR_FEED_BUILD_WAIT_SECONDS`;
  after that it is answered with the last good bytes — the previous entry, or the file
  `feed publish` wrote for that selection — and the build finishes for the next request.
  Only when there are no bytes at all is the answer "not yet" (the route's 503).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from ..anniversaries import Occurrence
from ..app_context import Services
from ..clock import today
from ..store import stored_occurrences_between
from ..store.queries import StoredCommemoration
from .ical import FeedSite, build_calendar, event_bytes, last_modified
from .query import FeedQuery
from .static import feed_file

log = logging.getLogger("calendar_service.feeds")


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    body: bytes
    gzipped: bytes
    etag: str  # strong validator: a hash of the bytes
    last_modified: datetime
    filename: str


def rendered(body: bytes, modified: datetime, filename: str,
             gzipped: bytes | None = None) -> RenderedFeed:
    return RenderedFeed(
        body=body,
        # mtime=0: the compressed bytes, like the plain ones, depend on the data alone.
        gzipped=gzip.compress(body, compresslevel=6, mtime=0) if gzipped is None else gzipped,
        etag=hashlib.sha256(body).hexdigest()[:32],
        last_modified=modified,
        filename=filename,
    )


class EventCache:
    """Each VEVENT's bytes, per process, keyed by everything its bytes depend on: the
    occurrence (year, day, ordinal, designation, chosen day, 29/2 shift), the row's state
    (revision, updated_at, status — any edit raises the revision) and the alarm. The site
    (base URL, timezone) is fixed for a process."""

    MAX_ENTRIES = 400_000  # ~ 130,000 commemorations' rolling windows; then start afresh

    def __init__(self, services: Services | None = None) -> None:
        self._chunks: dict[tuple, bytes] = {}

    def __call__(self, occ: Occurrence, stored: StoredCommemoration, site: FeedSite,
                 alarm_days: int | None) -> bytes:
        key = (occ.commemoration.id, occ.year, occ.date, occ.ordinal, occ.designated,
               occ.observed, occ.shifted, stored.revision, stored.updated_at, stored.status,
               alarm_days)
        found = self._chunks.get(key)
        if found is None:
            if len(self._chunks) >= self.MAX_ENTRIES:
                self._chunks.clear()  # old data versions' events go with it
            found = self._chunks[key] = event_bytes(occ, stored, site, alarm_days)
        return found


def render(services: Services, query: FeedQuery, window: tuple[date, date]) -> RenderedFeed:
    """Build the feed from the store (no feed cache; events from the process's EventCache)."""
    with services.database.session() as session:
        items = stored_occurrences_between(session, window[0], window[1],
                                           include_cancelled=True)
    items = [(o, s) for o, s in items if query.accepts(o)]
    body = build_calendar(items, query, FeedSite.of(services), window,
                          services.shared(EventCache))
    return rendered(body, last_modified(items), f"{query.slug()}.ics")


@dataclass(frozen=True, slots=True)
class PublishedFeed:
    """The file `feed publish` last wrote for a selection (and its gzip twin): the last
    good bytes a process that has built nothing yet answers with — sent from the file as
    it is (http.py), never read whole, hashed or compressed on the request's time."""
    path: Path
    filename: str

    @property
    def twin(self) -> Path:
        return self.path.with_name(self.path.name + ".gz")


def published_feed(directory: Path | None, query: FeedQuery) -> PublishedFeed | None:
    if directory is None:
        return None
    path = directory / feed_file(query)
    return PublishedFeed(path, f"{query.slug()}.ics") if path.is_file() else None


@dataclass
class _Build:
    """One background build of one key."""
    version: int
    done: threading.Event = field(default_factory=threading.Event)
    feed: RenderedFeed | None = None
    error: BaseException | None = None


class FeedNotReady(Exception):
    """No bytes at all for this selection yet; a build is under way."""


class FeedCache:
    """A small LRU of rendered feeds, valid for one store data version."""

    def __init__(self, services: Services, max_entries: int = 64,
                 max_bytes: int = 256 * 2**20, wait: float | None = None) -> None:
        self.services = services
        self.max_entries = max_entries
        # Bounded by size too: a 10,000-commemoration feed is ~29 MB with its gzip copy.
        self.max_bytes = max_bytes
        s = services.settings
        self.wait = s.feed_build_wait_seconds if wait is None else wait
        self.published = s.feeds_dir
        self.watch = services.watch
        self._entries: OrderedDict[tuple, tuple[int, RenderedFeed]] = OrderedDict()
        self._lock = threading.Lock()
        self._builds: dict[tuple, _Build] = {}

    def window(self, query: FeedQuery) -> tuple[date, date]:
        s = self.services.settings
        return query.window(today(self.services.clock), s.feed_past_days, s.feed_future_days)

    def data_version(self) -> int:
        return self.watch.current()

    def invalidate(self) -> None:
        """Called after a write in this process, so its own edits show at once."""
        self.watch.invalidate()

    def get(self, query: FeedQuery) -> RenderedFeed | PublishedFeed:
        """The current bytes if they are ready within the wait, else the last good ones;
        FeedNotReady when there are none."""
        window = self.window(query)
        key = (query, window)
        version = self.data_version()
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and cached[0] == version:
                self._entries.move_to_end(key)
                return cached[1]
            build = self._builds.get(key)
            # One build per key at a time (no stampede on a cold cache); a running build
            # of an older version is waited for, and the next request starts a new one.
            if build is None or build.done.is_set():
                build = self._builds[key] = _Build(version)
                threading.Thread(target=self._build, args=(key, query, window, build),
                                 name=f"feed-build-{query.slug()}", daemon=True).start()
        build.done.wait(self.wait)
        if build.done.is_set() and build.feed is not None and build.version == version:
            return build.feed
        previous = cached[1] if cached is not None else None
        if previous is None:
            previous = self._latest_other_window(query)
        if previous is not None:
            return previous
        published = published_feed(self.published, query)
        if published is not None:
            return published
        if build.done.is_set() and build.error is not None:
            raise build.error
        raise FeedNotReady(query.slug())

    def _latest_other_window(self, query: FeedQuery) -> RenderedFeed | None:
        """Yesterday's window of the same selection: the last good bytes after midnight."""
        with self._lock:
            for (q, _), (_, feed) in reversed(self._entries.items()):
                if q == query:
                    return feed
        return None

    def _build(self, key: tuple, query: FeedQuery, window: tuple[date, date],
               build: _Build) -> None:
        try:
            feed = render(self.services, query, window)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
            build.error = exc
            log.exception("building the feed %s failed", query.slug())
            build.done.set()
            return
        build.feed = feed
        with self._lock:
            self._entries[key] = (build.version, feed)
            self._entries.move_to_end(key)
            while len(self._entries) > 1 and (
                    len(self._entries) > self.max_entries
                    or sum(len(f.body) + len(f.gzipped)
                           for _, f in self._entries.values()) > self.max_bytes):
                old_key, _ = self._entries.popitem(last=False)
                self._builds.pop(old_key, None)
        build.done.set()
