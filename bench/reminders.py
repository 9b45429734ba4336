"""Benchmark reminder planning and delivery (issue 4).

A benchmark, not a test: the tests assert behaviour, this script reports how long it takes.
With --subscribers confirmed subscribers (default 10,000) and the 2024 catalogue
(events/2024.toml), on a fresh SQLite file database — and on PostgreSQL too when
CALENDAR_TEST_DATABASE_URL is set, in a schema created and dropped here — it measures:

1. planning one day: `plan()` at 2024-04-30 08:00 (Asia/Ho_Chi_Minh), when the Điện Biên Phủ
   7-days-ahead reminder (07/5/2024, 70th, round) is due for every subscriber: one new pending
   delivery per subscriber. The database already holds the previous reminders of that
   occurrence, as it would in production: a plan at 2024-04-23 08:00 (the 14-day reminder,
   plus the 60- and 30-day ones recorded as skipped catch-up) whose pending rows are then
   marked sent; none of that is timed. Also timed: the same day planned on a database with
   no history (40,000 rows: 10,000 pending plus 30,000 skipped catch-up), and a second tick
   the same day (nothing new);
2. end to end, `run_tick` at that moment (plan, render, claim, send, record) to a counting
   aiosmtpd sink running in another process (bench/smtp_sink_server.py), in messages/s;
   and once with a no-op transport swapped in (in this process only), which leaves the
   service's own work per message (the sender thread overlaps most of it with the SMTP
   conversation); for the reused floor and the end-to-end runs, the CPU per message used
   by this process, the sink and the PostgreSQL server's processes (Linux /proc): on a
   2-core machine, what competes with the sink for a core;
3. on the same sink, right before each end-to-end run, two floors: a bare smtplib loop
   sending prebuilt copies of one real reminder (rendered once by the service, only the To
   header differing) over ONE reused connection, and a naive loop opening a new connection
   per message (--naive messages); the ratios are taken run by run;
4. memory: the peak RSS of a child process that runs only the end-to-end delivery, at 2,000
   and at --subscribers reminders (SQLite), and the tracemalloc peak of the same runs, split
   into planning and dispatch.

Targets (issue 4): planning < 2 s; end-to-end throughput >= 0.7x the reused-connection floor
and >= 1.3x the naive one; memory flat in the number of reminders (streamed).

Run from the repository root:

    .venv/bin/python bench/reminders.py [--subscribers 10000] [--repeat 3] [--delivery-repeat 1]
    CALENDAR_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/reminders.py
    .venv/bin/python bench/reminders.py --profile      # + cProfile of the end-to-end path
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import random
import re
import resource
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text, update

import calendar_service.reminders.dispatch as dispatch_module
import calendar_service.reminders.tick as tick_module
from calendar_service.app_context import Services
from calendar_service.catalogue import load_catalogue
from calendar_service.clock import FixedClock
from calendar_service.config import Settings, normalise_database_url
from calendar_service.reminders.models import PENDING, SENT, DeliveryRow, SubscriberRow
from calendar_service.reminders.planner import plan
from calendar_service.reminders.subscribers import NewSubscriber
from calendar_service.reminders.tick import run_tick
from calendar_service.store import Database, sync_catalogue, upgrade

ROOT = Path(__file__).resolve().parents[1]
EVENTS_2024 = ROOT / "events" / "2024.toml"
SINK_SCRIPT = Path(__file__).resolve().with_name("smtp_sink_server.py")
PG_ENV = "CALENDAR_TEST_DATABASE_URL"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SEED = 20240430
MAIL_FROM = "lich-ky-niem@bench.invalid"

PLAN_TARGET_S = 2.0
REUSED_RATIO_TARGET = 0.7
NAIVE_RATIO_TARGET = 1.3
MEMORY_SMALL = 2_000


def at(day: str, hour: int = 8, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=TZ)


LOADED_AT = at("2024-01-01")
HISTORY_AT = at("2024-04-23")  # Điện Biên Phủ −14 d (−60 d, −30 d recorded as skipped)
AS_OF = at("2024-04-30")  # Điện Biên Phủ −7 d: the day measured

# Every mix includes "victory"; none of the others has a reminder due on 2024-04-23 or
# 2024-04-30, so each subscriber gets exactly one reminder on each of those days. The
# checks below verify that instead of trusting this comment.
CATEGORY_MIXES = (
    ["victory"],
    ["victory", "historic-event"],
    ["victory", "founding"],
    ["victory", "founding", "national-day"],
    ["victory", "historic-event", "founding", "national-day"],
)
NAMES = ("Ban biên tập", "Phòng Văn hóa - Thông tin", "Trung tâm Văn hóa", "Đài Truyền thanh",
         "Ban Tuyên giáo", "Nguyễn Thị Hồng", "Trần Văn Đức", "Lê Thị Thu Hà")
ORGANISATIONS = ("Báo Quảng Nam", "Sở Văn hóa, Thể thao và Du lịch", "UBND huyện Núi Thành",
                 "UBND thị xã Điện Bàn", "Đài Phát thanh - Truyền hình Quảng Nam")


# --- Figures ---------------------------------------------------------------------------------


@dataclass
class Figure:
    label: str
    runs: list[float]
    unit: str  # "s", "ms", "msg/s", "MiB", "x"
    target: str = ""
    ok: bool | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def cells(self) -> tuple[str, ...]:
        fmt = {"s": "{:.3f} s", "ms": "{:.3f} ms", "msg/s": "{:,.0f} msg/s",
               "MiB": "{:.1f} MiB", "x": "{:.2f}x"}[self.unit]
        spread = (f"{fmt.format(min(self.runs))} – {fmt.format(max(self.runs))}"
                  if len(self.runs) > 1 else "")
        status = "" if self.ok is None else ("ok" if self.ok else "MISSED")
        return (self.label, fmt.format(self.median), spread, self.target, status, self.note)


def print_table(figures: list[Figure]) -> None:
    header = ("measure", "median", "min – max", "target", "", "note")
    rows = [header] + [f.cells() for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for n, row in enumerate(rows):
        print("  ".join(cell.rjust(w) if i in (1, 2) else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- The SMTP sink, in another process -------------------------------------------------------


class Sink:
    """bench/smtp_sink_server.py as a child process, driven over its stdin/stdout."""

    def __init__(self, timeout: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SINK_SCRIPT), "--timeout", str(timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        line = self._readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"SMTP sink did not start: {line!r}")
        self.port = int(line.split()[1])

    def _readline(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the sink answers at once or has exited (EOF)
        if not line:
            raise RuntimeError(f"SMTP sink exited (code {self.process.poll()})")
        return line.strip()

    def count(self) -> tuple[int, int]:
        """(messages, bytes) accepted so far."""
        assert self.process.stdin is not None
        self.process.stdin.write("COUNT\n")
        self.process.stdin.flush()
        _, messages, _recipients, size = self._readline().split()
        return int(messages), int(size)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=10"

    def stop(self) -> None:
        try:
            if self.process.poll() is None and self.process.stdin is not None:
                self.process.stdin.write("QUIT\n")
                self.process.stdin.close()
                self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)


# --- CPU per process (Linux /proc) ---------------------------------------------------------


CLOCK_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int | str) -> float:
    """user + system CPU of a process so far (0 when it is gone or /proc is missing)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def _postgres_pids() -> list[str]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().startswith("postgres"):
                pids.append(comm.parent.name)
        except OSError:
            pass
    return pids


class CPU:
    """CPU seconds used during a block by this process, the sink and the PostgreSQL
    server's processes (on this host): where a message's time goes on a 2-core machine."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def snapshot(self) -> dict[str, float]:
        return {"this process": _cpu_seconds(os.getpid()),
                "sink": _cpu_seconds(self.sink.process.pid),
                "PostgreSQL": sum(_cpu_seconds(pid) for pid in _postgres_pids())}

    @contextmanager
    def measure(self, into: dict[str, list[float]], count: int) -> Iterator[None]:
        """Appends ms per message for each process group to `into`."""
        before = self.snapshot()
        yield
        after = self.snapshot()
        for name, seconds in after.items():
            into.setdefault(name, []).append((seconds - before[name]) / count * 1000)


def cpu_note(into: dict[str, list[float]]) -> str:
    return "CPU per message: " + ", ".join(
        f"{name} {statistics.median(ms):.2f} ms" for name, ms in into.items()
        if statistics.median(ms) >= 0.005)


# --- Databases -------------------------------------------------------------------------------


def subscriber_rows(count: int) -> list[dict]:
    """Deterministic subscribers, validated by the service's own parser, as insert rows."""
    rng = random.Random(SEED)
    rows = []
    for i in range(count):
        new = NewSubscriber.parse(
            f"bien-tap-{i:05d}@don-vi-{i % 97:02d}.quangnam.gov.vn",
            name=rng.choice(NAMES) if rng.random() < 0.8 else None,
            organisation=rng.choice(ORGANISATIONS) if rng.random() < 0.6 else None,
            categories=rng.choice(CATEGORY_MIXES),
            scope="all" if rng.random() < 0.3 else "notable")
        rows.append({
            "email": new.email, "name": new.name, "organisation": new.organisation,
            "categories": new.categories, "scope": new.scope, "lead_days": new.lead_days,
            "webhook_url": new.webhook_url, "active": True, "created_at": LOADED_AT,
            "confirmed_at": LOADED_AT,
        })
    return rows


def populate(db: Database, count: int, history: bool) -> None:
    """Catalogue, subscribers and (with history) the reminders sent before the measured day."""
    upgrade(db.engine)
    with db.session() as session:
        sync_catalogue(session, load_catalogue([EVENTS_2024]), LOADED_AT)
    with db.session() as session:
        session.execute(insert(SubscriberRow), subscriber_rows(count))
    if history:
        settings_time, tz = Settings.from_env({}, env_file=None).reminder_time, TZ
        with db.session() as session:
            report = plan(session, HISTORY_AT, settings_time, tz)
            if report.planned != count:
                raise SystemExit(f"history plan: {report.planned} pending, expected {count}")
            session.execute(update(DeliveryRow).where(DeliveryRow.status == PENDING).values(
                status=SENT, sent_at=HISTORY_AT, claimed_at=HISTORY_AT, attempts=1)
                .execution_options(synchronize_session=False))


# A context manager yielding the URL of a fresh, populated database, and removing it after.
Fresh = Callable[[int, bool], AbstractContextManager[str]]


def sqlite_backend(workdir: Path) -> Fresh:
    templates: dict[tuple[int, bool], Path] = {}
    counter = iter(range(1_000_000))

    def template(count: int, history: bool) -> Path:
        key = (count, history)
        if key not in templates:
            path = workdir / f"template-{count}-{'history' if history else 'empty'}.db"
            db = Database(f"sqlite:///{path}")
            try:
                populate(db, count, history)
                with db.engine.connect() as conn:
                    conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            finally:
                db.dispose()
            templates[key] = path
        return templates[key]

    @contextmanager
    def fresh(count: int, history: bool) -> Iterator[str]:
        # A file, not :memory:, in WAL mode as the service runs it. Copying a populated
        # template keeps the set-up out of the way; the copy is a fresh database all the same.
        source = template(count, history)
        path = workdir / f"run-{next(counter)}.db"
        shutil.copyfile(source, path)
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    return fresh


def postgres_backend(url: str) -> Fresh:
    base = normalise_database_url(url)
    separator = "&" if "?" in base else "?"
    counter = iter(range(1_000_000))

    @contextmanager
    def fresh(count: int, history: bool) -> Iterator[str]:
        # A schema of our own, reached through search_path: nothing else in that database
        # is touched, and the schema is dropped whatever happens.
        schema = f"bench_reminders_{os.getpid()}_{next(counter)}"
        admin = Database(base)
        try:
            with admin.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            scoped = f"{base}{separator}options=-csearch_path%3D{schema}"
            db = Database(scoped)
            try:
                populate(db, count, history)
                with db.engine.connect() as conn:
                    conn.execute(text("ANALYZE"))
            finally:
                db.dispose()
            yield scoped
        finally:
            with admin.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()

    return fresh


def make_services(database_url: str, mail_url: str) -> Services:
    settings = Settings.from_env({
        "CALENDAR_DATABASE_URL": database_url,
        "CALENDAR_EVENTS": str(EVENTS_2024),
        "CALENDAR_MAIL_URL": mail_url,
        "CALENDAR_MAIL_FROM": MAIL_FROM,
        "CALENDAR_SECRET_KEY": "bench-secret",
        "CALENDAR_ENV": "test",
    }, env_file=None)
    return Services(settings, clock=FixedClock(AS_OF))


# --- 1. Planning -----------------------------------------------------------------------------


def bench_planning(backend: str, fresh: Fresh, count: int, repeat: int) -> list[Figure]:
    day, second, catch_up = [], [], []
    notes = {}
    for _ in range(repeat):
        with fresh(count, True) as url:
            services = make_services(url, "file:///nonexistent")
            s = services.settings
            try:
                start = time.perf_counter()
                with services.database.session() as session:  # commit included, as run_tick
                    report = plan(session, AS_OF, s.reminder_time, s.tz)
                day.append(time.perf_counter() - start)
                if report.planned != count or report.skipped != 0:
                    raise SystemExit(f"{backend}: day plan made {report.planned} pending and "
                                     f"{report.skipped} skipped, expected {count} and 0")
                start = time.perf_counter()
                with services.database.session() as session:
                    again = plan(session, AS_OF, s.reminder_time, s.tz)
                second.append(time.perf_counter() - start)
                if again.planned or again.skipped:
                    raise SystemExit(f"{backend}: second tick planned {again}")
            finally:
                services.database.dispose()
        with fresh(count, False) as url:
            services = make_services(url, "file:///nonexistent")
            s = services.settings
            try:
                start = time.perf_counter()
                with services.database.session() as session:
                    report = plan(session, AS_OF, s.reminder_time, s.tz)
                catch_up.append(time.perf_counter() - start)
                notes["catch_up"] = (f"{report.planned:,} pending + {report.skipped:,} skipped "
                                     "rows")
            finally:
                services.database.dispose()
    return [
        Figure(f"{backend}: plan the day (history in store)", day, "s",
               f"< {PLAN_TARGET_S:g} s", statistics.median(day) < PLAN_TARGET_S,
               f"{count:,} pending, 0 skipped; {3 * count:,} earlier rows in store"),
        Figure(f"{backend}: plan the same day again (second tick)", second, "s",
               note="nothing new"),
        Figure(f"{backend}: plan the day, empty history (catch-up)", catch_up, "s",
               note=notes["catch_up"]),
    ]


# --- 2. End to end ---------------------------------------------------------------------------


def how_many(items) -> int:
    """A DispatchReport field's count: a plain list, or a capped sample that counts all
    (`.count`, an int, shadows list.count there)."""
    count = getattr(items, "count", None)
    return count if isinstance(count, int) else len(items)


@contextmanager
def dispatch_timer(into: list[float]) -> Iterator[None]:
    """Time the dispatch part of run_tick by wrapping the name tick.py calls (the library
    is not changed); planning + its commit is the rest of run_tick's time."""
    original = tick_module.dispatch

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - start)

    tick_module.dispatch = timed
    try:
        yield
    finally:
        tick_module.dispatch = original


class _NullSender:
    def send(self, message, meanwhile=None) -> None:
        if meanwhile is not None:  # the previous result is recorded here, as by SMTP
            meanwhile()


class _NullTransport:
    @contextmanager
    def connect(self) -> Iterator[_NullSender]:
        yield _NullSender()


@contextmanager
def null_transport() -> Iterator[bool]:
    """Make dispatch's transport a no-op, in this process only, by replacing the name
    dispatch.py looks it up by (the library is not changed): what remains of a dispatch is
    its own work per message, rendering, claiming and recording. Yields False when the
    library no longer has that name (the figure is then skipped)."""
    original = getattr(dispatch_module, "transport_from_url", None)
    if original is None:
        yield False
        return
    dispatch_module.transport_from_url = lambda url: _NullTransport()
    try:
        yield True
    finally:
        dispatch_module.transport_from_url = original


def dispatch_cpu(url: str, count: int, batch: int | None) -> float | None:
    """Seconds of dispatch with a no-op transport, or None when it cannot be measured."""
    services = make_services(url, "smtp://127.0.0.1:9")  # never connected to
    dispatched: list[float] = []
    kwargs = {} if batch is None else {"batch": batch}
    try:
        with null_transport() as patched, dispatch_timer(dispatched):
            if not patched:
                return None
            report = run_tick(services, AS_OF, **kwargs)
    finally:
        services.database.dispose()
    if report.dispatch is None or how_many(report.dispatch.sent) != count or not dispatched:
        return None
    return dispatched[0]


def deliver(url: str, sink: Sink, count: int, batch: int | None,
            cpu: dict[str, list[float]]) -> tuple[float, float, int]:
    """One run_tick on a fresh database; returns (total s, dispatch s, bytes received) and
    appends the CPU each process used per message to `cpu`."""
    services = make_services(url, sink.url)
    try:
        with services.database.session() as session:  # connect before the clock starts
            session.execute(text("SELECT 1"))
        before, bytes_before = sink.count()
        dispatched: list[float] = []
        kwargs = {} if batch is None else {"batch": batch}
        with dispatch_timer(dispatched), CPU(sink).measure(cpu, count):
            start = time.perf_counter()
            report = run_tick(services, AS_OF, **kwargs)
            total = time.perf_counter() - start
        after, bytes_after = sink.count()
    finally:
        services.database.dispose()
    d = report.dispatch
    assert d is not None
    counts = {name: how_many(getattr(d, name)) for name in ("sent", "failed", "retrying",
                                                             "skipped")}
    if report.plan.planned != count or counts["sent"] != count or after - before != count \
            or counts["failed"] or counts["retrying"] or counts["skipped"]:
        raise SystemExit(f"end to end: planned {report.plan.planned}, sink received "
                         f"{after - before}, report {counts}; expected {count} sent")
    return total, (dispatched[0] if dispatched else float("nan")), bytes_after - bytes_before


def bench_delivery(backend: str, fresh: Fresh, sink: Sink, count: int, repeat: int,
                   batch: int | None, reused_msgs: list[tuple[str, bytes]],
                   naive_msgs: list[tuple[str, bytes]]) -> list[Figure]:
    """Each run: the two floors, then run_tick on a fresh database, back to back on the same
    sink, so each ratio compares figures taken within the same minute (other work on a
    shared machine moves all of them); the ratios reported are medians of per-run ratios."""
    reused, naive, totals, dispatches, size = [], [], [], [], 0
    floor_cpu: dict[str, list[float]] = {}
    e2e_cpu: dict[str, list[float]] = {}
    for _ in range(repeat):
        with CPU(sink).measure(floor_cpu, len(reused_msgs)):
            reused.append(floor_reused(sink, reused_msgs))
        naive.append(floor_naive(sink, naive_msgs))
        with fresh(count, True) as url:
            total, dispatched, size = deliver(url, sink, count, batch, e2e_cpu)
        totals.append(total)
        dispatches.append(dispatched)
    with fresh(count, True) as url:
        cpu = dispatch_cpu(url, count, batch)
    rates = [count / t for t in totals]
    total, dispatched = statistics.median(totals), statistics.median(dispatches)
    to_reused = [rate / floor for rate, floor in zip(rates, reused)]
    to_naive = [rate / floor for rate, floor in zip(rates, naive)]
    return [
        Figure(f"{backend} run: floor, smtplib, one reused connection "
               f"({len(reused_msgs):,} messages)", reused, "msg/s",
               note=f"prebuilt bytes, no rendering, no database; {cpu_note(floor_cpu)}"),
        Figure(f"{backend} run: floor, smtplib, new connection per message "
               f"({len(naive_msgs):,})", naive, "msg/s",
               note="connect + EHLO + send + QUIT each"),
        Figure(f"{backend}: end to end, run_tick ({count:,} reminders)", totals, "s",
               note=f"plan + commit {total - dispatched:.2f} s, dispatch {dispatched:.2f} s; "
                    f"{cpu_note(e2e_cpu)}"),
        Figure(f"{backend}: end-to-end throughput", rates, "msg/s",
               note=f"{size / count / 1024:.1f} KiB per message on the wire"),
        Figure(f"{backend}: dispatch-only throughput", [count / d for d in dispatches],
               "msg/s", note="render, claim, send, record"),
        *([] if cpu is None else [Figure(
            f"{backend}: dispatch with a no-op transport", [cpu / count * 1000], "ms",
            note=f"per message: the service's own work (render, claim, record), vs "
                 f"{1000 / statistics.median(reused):.2f} ms per message for the reused "
                 "floor")]),
        Figure(f"{backend}: end to end / reused floor", to_reused, "x",
               f">= {REUSED_RATIO_TARGET:g}x",
               statistics.median(to_reused) >= REUSED_RATIO_TARGET),
        Figure(f"{backend}: end to end / naive floor", to_naive, "x",
               f">= {NAIVE_RATIO_TARGET:g}x", statistics.median(to_naive) >= NAIVE_RATIO_TARGET),
    ]


# --- 3. Floors -------------------------------------------------------------------------------


def real_reminder(workdir: Path) -> bytes:
    """One reminder exactly as the service renders it for this day (CRLF line ends, as
    smtplib's send_message puts it on the wire), written by the file transport."""
    outbox = workdir / "outbox"
    path = workdir / "one-reminder.db"
    db = Database(f"sqlite:///{path}")
    try:
        populate(db, 1, True)
    finally:
        db.dispose()
    services = make_services(f"sqlite:///{path}", f"file://{outbox}")
    try:
        report = run_tick(services, AS_OF)
    finally:
        services.database.dispose()
    files = sorted(outbox.glob("*.eml"))
    if report.dispatch is None or how_many(report.dispatch.sent) != 1 or len(files) != 1:
        raise SystemExit("could not render the reference reminder")
    data = files[0].read_bytes()
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


TO_LINE = re.compile(rb"^To: [^\r\n]*\r\n", re.MULTILINE)


def prebuilt(message: bytes, count: int) -> list[tuple[str, bytes]]:
    head, tail = TO_LINE.split(message, maxsplit=1)
    out = []
    for i in range(count):
        address = f"bien-tap-{i:05d}@don-vi-{i % 97:02d}.quangnam.gov.vn"
        out.append((address, b"".join((head, f"To: {address}\r\n".encode(), tail))))
    return out


def floor_reused(sink: Sink, messages: list[tuple[str, bytes]]) -> float:
    before, _ = sink.count()
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
        for address, data in messages:
            client.sendmail(MAIL_FROM, [address], data)
    elapsed = time.perf_counter() - start
    if sink.count()[0] - before != len(messages):
        raise SystemExit("reused-connection floor: the sink did not receive every message")
    return len(messages) / elapsed


def floor_naive(sink: Sink, messages: list[tuple[str, bytes]]) -> float:
    before, _ = sink.count()
    start = time.perf_counter()
    for address, data in messages:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:  # connect, EHLO
            client.sendmail(MAIL_FROM, [address], data)  # ... and QUIT on exit
    elapsed = time.perf_counter() - start
    if sink.count()[0] - before != len(messages):
        raise SystemExit("naive floor: the sink did not receive every message")
    return len(messages) / elapsed


# --- 4. Memory, in child processes -----------------------------------------------------------


def _vm(field: str) -> int:
    """A /proc/self/status figure in KiB (VmRSS: now; VmHWM: the peak since the last reset)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> bool:
    """Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so the peak measured
    afterwards is the delivery's own, not the imports'. False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def memory_child(url: str, mail_url: str, count: int, trace: bool) -> dict:
    """Runs in a fresh interpreter that does only the delivery (the database is populated by
    the parent), so the peak is the delivery's."""
    services = make_services(url, mail_url)
    with services.database.session() as session:
        session.execute(text("SELECT 1"))
    gc.collect()
    result: dict = {"count": count, "hwm_reset": _reset_peak_rss(),
                    "baseline_rss_kib": _vm("VmRSS")}
    original = tick_module.dispatch

    def observed(*args, **kwargs):
        if trace:
            result["plan_peak_bytes"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
        else:
            result["plan_peak_rss_kib"] = _vm("VmHWM")
        return original(*args, **kwargs)

    tick_module.dispatch = observed
    if trace:
        tracemalloc.start()
    try:
        report = run_tick(services, AS_OF)
    finally:
        tick_module.dispatch = original
    if trace:
        result["dispatch_peak_bytes"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        result["peak_rss_kib"] = _vm("VmHWM")
        result["ru_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert report.dispatch is not None
    result["sent"] = how_many(report.dispatch.sent)
    services.database.dispose()
    return result


def run_memory_child(url: str, sink: Sink, count: int, trace: bool) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--memory-child", url,
               "--mail-url", sink.url, "--subscribers", str(count)]
    if trace:
        command.append("--tracemalloc")
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise SystemExit(f"memory child failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["sent"] != count:
        raise SystemExit(f"memory child sent {result['sent']}, expected {count}")
    return result


MEMORY_FLAT_RATIO = 1.5  # proportional growth would be count / MEMORY_SMALL (5x at 10,000)


def bench_memory(fresh: Fresh, sink: Sink, count: int) -> list[Figure]:
    """Peak RSS above the child's baseline (imports, settings and a connection, measured
    just before run_tick), and the tracemalloc peak, which counts Python allocations only
    but is exact and split into planning and dispatch."""
    rss, traced = {}, {}
    sizes = sorted({MEMORY_SMALL, count})
    for n in sizes:
        with fresh(n, True) as url:
            rss[n] = run_memory_child(url, sink, n, trace=False)
        with fresh(n, True) as url:
            traced[n] = run_memory_child(url, sink, n, trace=True)
    mib = 1024.0
    figures = []
    growth_rss, growth_traced = {}, {}
    for n in sizes:
        r, t = rss[n], traced[n]
        growth_rss[n] = (r["peak_rss_kib"] - r["baseline_rss_kib"]) / mib
        growth_traced[n] = max(t["plan_peak_bytes"], t["dispatch_peak_bytes"]) / mib / mib
        reset = "" if r["hwm_reset"] else " (VmHWM not resettable: includes imports)"
        figures.append(Figure(
            f"SQLite: peak RSS above baseline, {n:,} reminders", [growth_rss[n]], "MiB",
            note=f"peak {r['peak_rss_kib'] / mib:.1f} MiB over a baseline of "
                 f"{r['baseline_rss_kib'] / mib:.1f} MiB; "
                 f"+{(r['plan_peak_rss_kib'] - r['baseline_rss_kib']) / mib:.1f} MiB by the "
                 f"end of planning{reset}"))
        figures.append(Figure(
            f"SQLite: tracemalloc peak, {n:,} reminders", [growth_traced[n]], "MiB",
            note=f"planning {t['plan_peak_bytes'] / mib / mib:.1f} MiB, "
                 f"dispatch {t['dispatch_peak_bytes'] / mib / mib:.1f} MiB"))
    if len(sizes) == 2:
        small, large = sizes
        proportional = large / small
        dispatch_only = {n: traced[n]["dispatch_peak_bytes"] / mib / mib for n in sizes}
        ratio = dispatch_only[large] / max(dispatch_only[small], 0.1)
        figures.append(Figure(
            f"SQLite: tracemalloc peak of dispatch alone, {large:,} / {small:,}", [ratio], "x",
            f"flat (<= {MEMORY_FLAT_RATIO:g}x)", ratio <= MEMORY_FLAT_RATIO,
            f"{dispatch_only[small]:.1f} MiB vs {dispatch_only[large]:.1f} MiB"))
        for name, growth in (("peak RSS above baseline", growth_rss),
                             ("tracemalloc peak", growth_traced)):
            ratio = growth[large] / max(growth[small], 0.1)
            per = (growth[large] - growth[small]) * mib / (large - small)
            figures.append(Figure(
                f"SQLite: {name}, {large:,} / {small:,}", [ratio], "x",
                f"flat (<= {MEMORY_FLAT_RATIO:g}x)", ratio <= MEMORY_FLAT_RATIO,
                f"proportional would be {proportional:.1f}x; {per:.2f} KiB per extra "
                "reminder"))
    return figures


# --- Profile ---------------------------------------------------------------------------------


# (label, function name, a part of its file name, cumulative or own time), matched against
# the profile by name, so the summary survives the library's refactorings (a function that
# is gone prints as 0).
PROFILE_GROUPS = (
    ("plan()", "plan", "reminders/planner.py", "cum"),
    ("dispatch()", "dispatch", "reminders/dispatch.py", "cum"),
    ("  SMTP conversation (transport send)", "send", "reminders/transport.py", "cum"),
    ("    socket recv (waiting for the 4 replies)",
     "<method 'recv_into' of '_socket.socket' objects>", "~", "own"),
    ("    socket sendall", "<method 'sendall' of '_socket.socket' objects>", "~", "own"),
    ("    smtplib quoteaddr (envelope parsing)", "quoteaddr", "smtplib.py", "cum"),
    ("  build_email", "build_email", "reminders/messages.py", "cum"),
    ("    email.header Header.encode (Subject)", "encode", "email/header.py", "cum"),
    ("    Jinja render (text + HTML)", "render", "jinja2/environment.py", "cum"),
    ("  make_token (itsdangerous)", "make_token", "reminders/tokens.py", "cum"),
    ("  Database.session() opened", "session", "store/db.py", "cum"),
    ("  SQLAlchemy Connection.execute (all SQL)", "execute", "sqlalchemy/engine/base.py", "cum"),
    ("  SQLAlchemy update().values() built", "values", "sqlalchemy/sql/dml.py", "cum"),
    ("  sqlite3 commit", "<method 'commit' of 'sqlite3.Connection' objects>", "~", "own"),
    ("  psycopg commit", "commit", "psycopg/connection.py", "cum"),
    ("  pool_pre_ping (a round trip per checkout)", "_do_ping_w_event", "engine/default.py",
     "cum"),
)


def profile_summary(stats: pstats.Stats) -> list[tuple[str, float]]:
    table = stats.stats  # type: ignore[attr-defined]
    out = []
    for label, name, where, kind in PROFILE_GROUPS:
        seconds = sum((ct if kind == "cum" else tt)
                      for (path, _line, func), (_cc, _nc, tt, ct, _callers) in table.items()
                      if func == name and where in path)
        out.append((label, seconds))
    return out


def profile_end_to_end(backend: str, fresh: Fresh, sink: Sink, count: int) -> None:
    with fresh(count, True) as url:
        services = make_services(url, sink.url)
        try:
            profiler = cProfile.Profile()
            profiler.enable()
            report = run_tick(services, AS_OF)
            profiler.disable()
        finally:
            services.database.dispose()
    assert report.dispatch is not None and how_many(report.dispatch.sent) == count
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    summary = profile_summary(stats)
    total = sum(seconds for label, seconds in summary if label in ("plan()", "dispatch()"))
    print(f"\ncProfile of run_tick, {backend}, {count:,} reminders: {total:.2f} s under the "
          "profiler (which inflates pure-Python loops); shares of plan() + dispatch():")
    for label, seconds in summary:
        print(f"  {label:48s} {seconds:7.3f} s  {100 * seconds / total:5.1f} %")
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(20)
    print(out.getvalue())


# --- Main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000,
                        help="subscribers, hence reminders on the measured day "
                             "(default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per planning figure; the median is reported "
                             "(default: %(default)s)")
    parser.add_argument("--delivery-repeat", type=int, default=1,
                        help="runs per delivery figure (end to end and floors; each takes "
                             "tens of seconds) (default: %(default)s)")
    parser.add_argument("--naive", type=int, default=2_000,
                        help="messages for the connection-per-message floor "
                             "(default: %(default)s)")
    parser.add_argument("--batch", type=int, default=None,
                        help="dispatch batch size (default: the library's)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory figures")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of the end-to-end path "
                             "(see --profile-backend)")
    parser.add_argument("--profile-backend", choices=("SQLite", "PostgreSQL"), default="SQLite",
                        help="the backend profiled (default: %(default)s)")
    parser.add_argument("--profile-subscribers", type=int, default=2_000,
                        help="reminders in the profiled run (default: %(default)s)")
    parser.add_argument("--sink-timeout", type=float, default=1800.0,
                        help="the sink process exits after this long whatever happens")
    # Internal: the memory measurement's child process.
    parser.add_argument("--memory-child", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--mail-url", help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.subscribers, args.repeat, args.delivery_repeat, args.naive) < 1:
        parser.error("counts must be positive")

    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.mail_url, args.subscribers,
                                      args.tracemalloc)))
        return 0

    n = args.subscribers
    pg_url = os.environ.get(PG_ENV)
    figures: list[Figure] = []
    started = time.perf_counter()
    load_before = os.getloadavg()  # other work on the machine skews every figure below
    with tempfile.TemporaryDirectory(prefix="calendar-bench-reminders-") as tmp:
        workdir = Path(tmp)
        backends = [("SQLite", sqlite_backend(workdir))]
        if pg_url:
            backends.append(("PostgreSQL", postgres_backend(pg_url)))
        sink = Sink(args.sink_timeout)
        try:
            say(f"sink listening on 127.0.0.1:{sink.port} (pid {sink.process.pid})")
            message = real_reminder(workdir)
            say(f"reference reminder: {len(message):,} bytes")
            reused_msgs, naive_msgs = prebuilt(message, n), prebuilt(message, args.naive)
            for backend, fresh in backends:
                say(f"{backend}: planning ...")
                figures += bench_planning(backend, fresh, n, args.repeat)
                say(f"{backend}: floors and end to end ...")
                figures += bench_delivery(backend, fresh, sink, n, args.delivery_repeat,
                                          args.batch, reused_msgs, naive_msgs)
            if not args.no_memory:
                say("memory (child processes) ...")
                figures += bench_memory(backends[0][1], sink, n)
            print(f"\n{n:,} subscribers x events/2024.toml; day measured: "
                  f"{AS_OF.isoformat()} (Điện Biên Phủ −7 d); planning: median of "
                  f"{args.repeat}, delivery: median of {args.delivery_repeat}; "
                  f"reference reminder {len(message):,} bytes; load average "
                  f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after "
                  f"({os.cpu_count()} CPUs)\n")
            print_table(figures)
            if not pg_url:
                print(f"\nPostgreSQL skipped: set {PG_ENV} to measure it.")
            if args.profile:
                chosen = dict(backends).get(args.profile_backend)
                if chosen is None:
                    print(f"\n{args.profile_backend} not measured: nothing to profile.")
                else:
                    profile_end_to_end(args.profile_backend, chosen, sink,
                                       args.profile_subscribers)
            elif any(f.ok is False for f in figures):
                print("\nA target is missed: run with --profile for a cProfile of the "
                      "end-to-end path.")
        finally:
            sink.stop()
    say(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
