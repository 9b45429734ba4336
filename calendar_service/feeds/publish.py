"""`calendar-service feed publish DIR`: every feed the service links to, as static files.

What is published (the layout: static.py): the subscription feed (the rolling window), its
notable (designated or round), designated-only and per-category selections — the subscribe
page's links, and the designated-only address older subscriptions use —, each year's feed
(`/calendar.ics?year=Y`, linked from the year page) for every year the rolling window touches
and every year a loaded directive designates, and each active commemoration's next dated
occurrence (`/events/<id>.ics`). Other selections (several categories, an alarm, another
year) are left to the app, which nginx falls back to.

How: every file is rendered from one read of the store (events from the process's
EventCache, so a republish after a small change renders only what changed), compared with
the file in place and written only when its bytes differ — to a temporary file beside it,
then renamed over it, so a reader never sees half a file and an unchanged file keeps its
mtime (nginx's ETag and Last-Modified stay put). Files of selections no longer published
(a commemoration cancelled, a year out of the window) are removed. Each file gets a gzip twin
for nginx's gzip_static, compressed with mtime 0 so the same bytes give the same twin.

Who runs it: the command; the scheduler on each tick when the data version or the day
changed (`Publisher`); `load` after it wrote; the admin area after an edit (in the
background). Several processes may publish at once: each rename is atomic and they write
the same bytes.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from ..anniversaries import next_dated_occurrence
from ..app_context import Services
from ..catalogue import CATEGORIES
from ..clock import today
from ..store import heartbeat, stored_occurrences_between
from ..store.models import DesignationRow
from ..store.queries import list_commemorations
from ..store.state import data_version
from .ical import FeedSite, build_calendar, occurrence_calendar
from .query import FeedQuery
from .service import EventCache
from .static import EVENTS, ROOT, VARIANTS, event_file, feed_file

log = logging.getLogger("calendar_service.feeds.publish")

HEARTBEAT = "publish"  # the heartbeat's name
STATUS_FILE = ".publish.json"  # the last publish's report, beside the files
STALE_TEMP_SECONDS = 3600  # a temporary file this old was left by a process that died


@dataclass
class PublishReport:
    directory: str
    started_at: str  # ISO 8601, the service's clock
    seconds: float = 0.0
    files: int = 0  # files published (gzip twins not counted)
    bytes: int = 0  # their total size, uncompressed
    written: int = 0  # files whose bytes changed (written again)
    removed: int = 0  # files of selections no longer published
    ok: bool = True
    error: str | None = None
    data_version: int | None = None

    def summary(self) -> str:
        if not self.ok:
            return f"publish to {self.directory} failed: {self.error}"
        return (f"published {self.files} files ({self.bytes:,} bytes) to {self.directory}: "
                f"{self.written} written, {self.removed} removed, {self.seconds:.2f} s")


def published_years(window: tuple[date, date], designated: set[int]) -> list[int]:
    return sorted(set(range(window[0].year, window[1].year + 1)) | designated)


def linked_queries(years: list[int]) -> list[FeedQuery]:
    """The selections the service's pages link to (reminders/routes.py: the subscribe page;
    templates/year.html: the year's feed)."""
    return [FeedQuery(), FeedQuery(notable=True), FeedQuery(designated=True),
            *(FeedQuery(categories=(slug,)) for slug in sorted(CATEGORIES)),
            *(FeedQuery(year=y) for y in years)]


def render_all(services: Services) -> tuple[dict[str, bytes], int]:
    """Every published file's path (relative) and bytes, and the data version they show."""
    s = services.settings
    site = FeedSite.of(services)
    events = services.shared(EventCache)
    now = today(services.clock)
    rolling = FeedQuery().window(now, s.feed_past_days, s.feed_future_days)
    files: dict[str, bytes] = {}
    queries: list[tuple[FeedQuery, tuple[date, date]]] = []
    by_window: dict[tuple[date, date], list] = {}
    # Read everything first, in one short transaction; render after (a long render must
    # not hold a transaction open).
    with services.database.session() as session:
        version = data_version(session)[0]
        designated = set(session.scalars(select(DesignationRow.year).distinct()))
        for query in linked_queries(published_years(rolling, designated)):
            window = query.window(now, s.feed_past_days, s.feed_future_days)
            queries.append((query, window))
            if window not in by_window:
                by_window[window] = stored_occurrences_between(
                    session, window[0], window[1], include_cancelled=True)
        active = list_commemorations(session)
    for query, window in queries:
        items = [(o, st) for o, st in by_window[window] if query.accepts(o)]
        files[feed_file(query)] = build_calendar(items, query, site, window, events)
    for stored in active:
        occ = next_dated_occurrence(stored.commemoration, now)
        if occ is not None:
            files[event_file(stored.commemoration.id)] = occurrence_calendar(
                occ, stored, site, events)
    return files, version


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)  # nginx runs as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _owned_files(directory: Path) -> list[Path]:
    """The files a publish manages: never anything else the directory holds."""
    found = [directory / ROOT, directory / f"{ROOT}.gz"]
    for sub in (VARIANTS, EVENTS):
        folder = directory / sub
        if folder.is_dir():
            found.extend(p for p in folder.iterdir() if p.name.endswith((".ics", ".ics.gz")))
    return [p for p in found if p.is_file()]


def write_files(directory: Path, files: dict[str, bytes]) -> tuple[int, int]:
    """Write what changed, remove what is no longer published; (written, removed)."""
    directory.mkdir(parents=True, exist_ok=True)
    for sub in (VARIANTS, EVENTS):
        (directory / sub).mkdir(exist_ok=True)
    written = 0
    wanted: set[Path] = set()
    for rel, body in files.items():
        path = directory / rel
        twin = path.with_name(path.name + ".gz")
        wanted.update((path, twin))
        if _same_bytes(path, body) and twin.is_file():
            continue
        # The twin first: whoever sees the new plain file finds its twin already there.
        # Level 6: -9 makes a 55 MB feed 2-3 times slower to compress for a few % less.
        _write_atomically(twin, gzip.compress(body, compresslevel=6, mtime=0))
        _write_atomically(path, body)
        written += 1
    removed = 0
    for path in _owned_files(directory):
        if path not in wanted:
            path.unlink(missing_ok=True)
            removed += path.suffix == ".ics"
    cutoff = time.time() - STALE_TEMP_SECONDS
    for folder in (directory, directory / VARIANTS, directory / EVENTS):
        for tmp in folder.glob(".*.tmp"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
            except OSError:
                pass
    return written, removed


def publish(services: Services, directory: Path) -> PublishReport:
    """Publish into `directory`; never raises for a failure of the store or the disk (the
    report says ok=False with the reason)."""
    started, began = time.monotonic(), services.clock.now()
    _heartbeat(services, lambda session: heartbeat.begin(session, HEARTBEAT, started=began))
    report = PublishReport(str(directory), began.isoformat(timespec="seconds"))
    try:
        files, version = render_all(services)
        report.written, report.removed = write_files(directory, files)
        report.files, report.bytes = len(files), sum(map(len, files.values()))
        report.data_version = version
    except Exception as exc:  # noqa: BLE001 - reported, and the next run tries again
        report.ok, report.error = False, f"{type(exc).__name__}: {exc}".splitlines()[0]
        log.exception("publishing the feeds to %s failed", directory)
    report.seconds = round(time.monotonic() - started, 3)
    record_publish(services, report, began)
    return report


def _heartbeat(services: Services, write) -> None:
    try:
        with services.database.session() as session:
            write(session)
    except Exception:  # noqa: BLE001 - recording must not stop the work it records
        log.warning("could not record the publish's heartbeat", exc_info=True)


def record_publish(services: Services, report: PublishReport, began: datetime) -> None:
    """Where a publish's outcome is kept for monitoring: the log; the `publish` heartbeat
    (store/heartbeat.py: /readyz and /metrics read it, from any process); and a small JSON
    file beside the feeds (`.publish.json`; not served: nginx serves only `*.ics`)."""
    (log.info if report.ok else log.error)("%s", report.summary())
    detail = {"duration_seconds": report.seconds, "files": report.files,
              "bytes": report.bytes, "written": report.written, "removed": report.removed}
    _heartbeat(services, lambda session: heartbeat.beat(
        session, HEARTBEAT, started=began, finished=services.clock.now(), ok=report.ok,
        error=report.error, detail=detail))
    try:
        directory = Path(report.directory)
        if directory.is_dir():
            _write_atomically(directory / STATUS_FILE,
                              json.dumps(asdict(report), indent=1).encode() + b"\n")
    except OSError:
        log.exception("cannot record the publish in %s", report.directory)


def last_publish(directory: Path) -> PublishReport | None:
    try:
        return PublishReport(**json.loads((directory / STATUS_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


@dataclass
class Publisher:
    """Per process (services.shared): publishes to the configured directory when the data
    version or the day changed since this process last published, and in the background
    on request (after an admin edit), one run at a time."""

    services: Services
    _seen: tuple | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _again: bool = False
    _running: bool = False

    @property
    def directory(self) -> Path:
        return self.services.settings.feeds_dir

    def run_if_changed(self) -> PublishReport | None:
        """The scheduler's tick: publish if anything the files show changed."""
        with self.services.database.session() as session:
            seen = (data_version(session)[0], today(self.services.clock))
        if seen == self._seen:
            return None
        report = publish(self.services, self.directory)
        if report.ok:
            self._seen = seen
        return report

    def soon(self) -> None:
        """Publish in a background thread (after a write in this process); a request made
        while a run is going makes one more run after it, so the last write is published.
        Only when CALENDAR_PUBLISH_DIR is set — a production web worker writing the files
        nginx serves; otherwise the scheduler's next tick publishes the change."""
        if self.services.settings.publish_dir is None:
            return
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        threading.Thread(target=self._background, name="feed-publish", daemon=True).start()

    def _background(self) -> None:
        while True:
            publish(self.services, self.directory)
            with self._lock:
                if not self._again:
                    self._running = False
                    return
                self._again = False


def publish_job(services: Services) -> None:
    """Run by the scheduler's tick; never raises (the next tick retries)."""
    try:
        services.shared(Publisher).run_if_changed()
    except Exception:  # noqa: BLE001 - a failed run must not stop the scheduler
        log.exception("publishing the feeds failed; the next tick will retry")
