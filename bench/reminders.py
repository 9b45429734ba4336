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
   no history (10,000 pending plus 30,000 skipped catch-up rows), and a second tick the same
   day (nothing new);
2. delivery, to a counting aiosmtpd sink in another process (bench/smtp_sink_server.py).
   Each run, back to back on the same sink:
   - the naive floor: what a simple mail-merge client does, with no database — for each
     recipient render the two templates (templates/email/), build an EmailMessage with the
     same headers, parts and .ics attachment as the service's, and send it with smtplib over
     a NEW connection (connect, EHLO, MAIL, RCPT, DATA, QUIT); --naive messages;
   - the simple client over ONE reused connection (no target): what reusing the
     connection alone gives;
   - end to end, `run_tick` on a fresh database (plan, claim, render, send, record);
   the ratios are taken run by run, because other work on a shared machine moves every
   figure. Also measured, without sending: the client work per message, the simple
   client's and the service's (channels/email.py build_email), and the dispatcher's own
   work per message, with the e-mail channel replaced by a no-op in this process
   (claim, read again, check, record);
3. memory: the peak RSS of a child process that runs only `run_tick`, at 2,000 and at
   --subscribers reminders (SQLite), and the tracemalloc peak of the same runs, split into
   planning and dispatch.

Targets (issue 4): planning < 2 s; end to end >= 1.3x the naive floor; --subscribers
reminders delivered within 60 s; memory flat in the number of reminders.

Run from the repository root:

    .venv/bin/python bench/reminders.py [--subscribers 10000] [--repeat 3] [--delivery-repeat 1]
    CALENDAR_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/reminders.py
    .venv/bin/python bench/reminders.py --profile      # + a cProfile of one run_tick (SQLite)
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import random
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
from datetime import datetime, timedelta
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import insert, text, update

import calendar_service.reminders.tick as tick_module
from calendar_service.app_context import Services
from calendar_service.catalogue import load_catalogue
from calendar_service.clock import FixedClock
from calendar_service.config import Settings, normalise_database_url
from calendar_service.delivery import channels
from calendar_service.delivery.channels import Attachment, Letter, configured, countdown
from calendar_service.delivery.channels.email import EmailChannel, build_email
from calendar_service.delivery.models import PENDING, SENT, DeliveryRow
from calendar_service.feeds.ical import FeedSite, occurrence_calendar
from calendar_service.reminders.delivering import Reminder, subject
from calendar_service.reminders.models import SubscriberRow
from calendar_service.reminders.planner import plan
from calendar_service.reminders.subscribers import NewSubscriber
from calendar_service.reminders.tick import run_tick
from calendar_service.reminders.tokens import make_token
from calendar_service.store import (
    Database,
    occurrences_between,
    sync_catalogue,
    upgrade,
)
from calendar_service.store.models import CommemorationRow
from calendar_service.store.queries import to_stored
from calendar_service.vietnamese import long_date, official_date

ROOT = Path(__file__).resolve().parents[1]
EVENTS_2024 = ROOT / "events" / "2024.toml"
TEMPLATES = ROOT / "templates"
SINK_SCRIPT = Path(__file__).resolve().with_name("smtp_sink_server.py")
PG_ENV = "CALENDAR_TEST_DATABASE_URL"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SEED = 20240430
MAIL_FROM = "lich-ky-niem@bench.invalid"
SECRET = "bench-secret"
BASE_URL = "http://127.0.0.1:5000"  # the settings' default

PLAN_TARGET_S = 2.0
NAIVE_RATIO_TARGET = 1.3
DELIVERY_TARGET_S = 60.0
MEMORY_SMALL = 2_000
MEMORY_FLAT_RATIO = 1.5  # proportional growth would be count / MEMORY_SMALL (5x at 10,000)


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


def make_settings(database_url: str, mail_url: str) -> Settings:
    return Settings.from_env({
        "CALENDAR_DATABASE_URL": database_url,
        "CALENDAR_EVENTS": str(EVENTS_2024),
        "CALENDAR_MAIL_URL": mail_url,
        "CALENDAR_MAIL_FROM": MAIL_FROM,
        "CALENDAR_SECRET_KEY": SECRET,
        "CALENDAR_BASE_URL": BASE_URL,
        "CALENDAR_ENV": "test",
    }, env_file=None)


def make_services(database_url: str, mail_url: str) -> Services:
    return Services(make_settings(database_url, mail_url), clock=FixedClock(AS_OF))


def plan_day(services: Services, as_of: datetime):
    """One planning transaction, as run_tick does it (commit included)."""
    s = services.settings
    with services.database.session() as session:
        return plan(session, as_of, s.reminder_time, s.tz, list(configured(s).values()))


def populate(db: Database, count: int, history: bool) -> None:
    """Catalogue, subscribers and (with history) the reminders sent before the measured day."""
    upgrade(db.engine)
    with db.session() as session:
        sync_catalogue(session, load_catalogue([EVENTS_2024]), LOADED_AT)
    with db.session() as session:
        session.execute(insert(SubscriberRow), subscriber_rows(count))
    if history:
        services = Services(make_settings(db.url, "file:///nonexistent"), _database=db)
        report = plan_day(services, HISTORY_AT)
        if report.planned != count:
            raise SystemExit(f"history plan: {report.planned} pending, expected {count}")
        with db.session() as session:
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


# --- 1. Planning -----------------------------------------------------------------------------


def bench_planning(backend: str, fresh: Fresh, count: int, repeat: int) -> list[Figure]:
    day, second, catch_up = [], [], []
    notes = {}
    for _ in range(repeat):
        with fresh(count, True) as url:
            services = make_services(url, "file:///nonexistent")
            try:
                start = time.perf_counter()
                report = plan_day(services, AS_OF)
                day.append(time.perf_counter() - start)
                if report.planned != count or report.skipped != 0:
                    raise SystemExit(f"{backend}: day plan made {report.planned} pending and "
                                     f"{report.skipped} skipped, expected {count} and 0")
                start = time.perf_counter()
                again = plan_day(services, AS_OF)
                second.append(time.perf_counter() - start)
                if again.planned or again.skipped:
                    raise SystemExit(f"{backend}: second tick planned {again}")
            finally:
                services.database.dispose()
        with fresh(count, False) as url:
            services = make_services(url, "file:///nonexistent")
            try:
                start = time.perf_counter()
                report = plan_day(services, AS_OF)
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


# --- 2. Delivery: the floors -----------------------------------------------------------------


class _Verbatim(UnstructuredHeader):
    """List-Unsubscribe as it is: a long URL must not become an encoded word (RFC 2369);
    the service registers the same header class."""

    def fold(self, *, policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("list-unsubscribe", _Verbatim)
POLICY = SMTP.clone(header_factory=_HEADERS)


class SimpleClient:
    """A simple mail-merge client, the floor's: the same templates, headers, parts and
    .ics attachment as the service's reminder, built with EmailMessage for each recipient
    and sent with smtplib; no database, no claims, nothing recorded.

    It builds them the plain way: From and To through headerregistry.Address, which the
    service avoids (it formats them with email.utils.formataddr: with a Vietnamese name,
    the email package's folding of an address costs 1 to 2 ms, see channels/email.py). Its
    List-Unsubscribe is kept on one line like the service's: that one is a matter of
    correctness (RFC 2369), not speed."""

    def __init__(self, url: str) -> None:
        env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                          autoescape=select_autoescape(["html"]),
                          trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        env.filters.update(official_date=official_date, long_date=long_date)
        self.text = env.get_template("email/reminder.txt")
        self.html = env.get_template("email/reminder.html")
        services = make_services(url, "file:///nonexistent")
        today = AS_OF.date()
        try:
            with services.database.session() as session:
                upcoming = occurrences_between(session, today, today + timedelta(days=30),
                                               include_undated=False)
                self.occ = next(o for o in upcoming if o.id == "dien-bien-phu")
                stored = to_stored(session.get(CommemorationRow, self.occ.id))
        finally:
            services.database.dispose()
        site = FeedSite.from_settings(services.settings)
        self.upcoming = [o for o in upcoming if o.id != self.occ.id]
        self.ics = occurrence_calendar(self.occ, stored, site)  # the same for everyone
        self.event_url = site.event_url(self.occ.id)
        assert self.occ.date is not None
        self.days_left = (self.occ.date - today).days
        self.subject = (f"[Lịch kỷ niệm] Còn {self.days_left} ngày: {self.occ.title} "
                        f"({official_date(self.occ.date)})")
        self.recipients = [(i + 1, row["email"], row["name"])
                           for i, row in enumerate(subscriber_rows(MEMORY_SMALL))]

    def message(self, n: int) -> EmailMessage:
        ident, email, name = self.recipients[n % len(self.recipients)]
        token = make_token(SECRET, "unsubscribe", ident, email)
        r = SimpleNamespace(recipient_email=email, recipient_name=name, upcoming=self.upcoming,
                            event_url=self.event_url,
                            unsubscribe_url=f"{BASE_URL}/unsubscribe/{token}")
        context = {"r": r, "occ": self.occ, "c": self.occ.commemoration,
                   "countdown": f"Còn {self.days_left} ngày"}
        msg = EmailMessage(policy=POLICY)
        msg["Subject"] = self.subject
        msg["From"] = MAIL_FROM
        msg["To"] = Address(name or "", addr_spec=email)
        msg["Date"] = AS_OF
        msg["Message-ID"] = f"<floor.{n}@bench.invalid>"
        msg["List-Unsubscribe"] = f"<{r.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(self.text.render(context), cte="base64")
        msg.add_alternative(self.html.render(context), subtype="html", cte="base64")
        msg.add_attachment(self.ics, maintype="text", subtype="calendar",
                           filename=f"{self.occ.id}-{self.occ.year}.ics",
                           params={"charset": "utf-8"})
        return msg


def floor(sink: Sink, client: SimpleClient, count: int, *, reuse: bool) -> float:
    """msg/s: build and send `count` messages, over one connection or one per message."""
    before, _ = sink.count()
    start = time.perf_counter()
    if reuse:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
            for n in range(count):
                smtp.send_message(client.message(n))
    else:
        for n in range(count):
            message = client.message(n)
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:  # connect, EHLO
                smtp.send_message(message)  # ... and QUIT on leaving
    elapsed = time.perf_counter() - start
    if sink.count()[0] - before != count:
        raise SystemExit("floor: the sink did not receive every message")
    return count / elapsed


def build_only(build: Callable[[int], EmailMessage], count: int) -> float:
    """ms per message of the client work alone: render, build, serialise (no sending)."""
    start = time.perf_counter()
    for n in range(count):
        build(n).as_bytes()
    return (time.perf_counter() - start) / count * 1000


def service_message(client: SimpleClient) -> Callable[[int], EmailMessage]:
    """The same messages built by the service's e-mail channel (no database)."""
    def build(n: int) -> EmailMessage:
        ident, email, name = client.recipients[n % len(client.recipients)]
        token = make_token(SECRET, "unsubscribe", ident, email)
        occ = client.occ
        reminder = Reminder(
            occurrence=occ, days_left=client.days_left, recipient_email=email,
            recipient_name=name, event_url=client.event_url,
            unsubscribe_url=f"{BASE_URL}/unsubscribe/{token}", upcoming=client.upcoming)
        letter = Letter(
            template="email/reminder",
            context={"r": reminder, "occ": occ, "c": occ.commemoration,
                     "countdown": countdown(client.days_left)},
            subject=subject(occ, client.days_left), address=email, recipient_name=name,
            message_id=f"<bench.{n}@invalid>", sent_at=AS_OF,
            unsubscribe_url=reminder.unsubscribe_url,
            attachments=(Attachment(f"{occ.id}-{occ.year}.ics", client.ics),))
        return build_email(letter, sender=MAIL_FROM)

    return build


# --- 2. Delivery: end to end -----------------------------------------------------------------


@contextmanager
def dispatch_timer(into: list[float]) -> Iterator[None]:
    """Time the dispatch part of run_tick by wrapping the name tick.py calls (the library
    is not changed); planning and its commit are the rest of run_tick's time."""
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


def deliver(url: str, sink: Sink, count: int) -> tuple[float, float, int]:
    """One run_tick on a fresh database: (total s, dispatch s, bytes the sink received)."""
    services = make_services(url, sink.url)
    try:
        with services.database.session() as session:  # connect before the clock starts
            session.execute(text("SELECT 1"))
        before, bytes_before = sink.count()
        dispatched: list[float] = []
        with dispatch_timer(dispatched):
            start = time.perf_counter()
            report = run_tick(services, AS_OF)
            total = time.perf_counter() - start
        after, bytes_after = sink.count()
    finally:
        services.database.dispose()
    d = report.dispatch
    assert d is not None
    counts = {name: getattr(d, name).total
              for name in ("sent", "failed", "retrying", "skipped")}
    if report.plan.planned != count or counts["sent"] != count or after - before != count \
            or counts["failed"] or counts["retrying"] or counts["skipped"]:
        raise SystemExit(f"end to end: planned {report.plan.planned}, sink received "
                         f"{after - before}, report {counts}; expected {count} sent")
    return total, dispatched[0], bytes_after - bytes_before


class _NoOpEmail(EmailChannel):
    """The e-mail channel rendering and sending nothing: what remains of a dispatch is the
    dispatcher's own work."""

    def render(self, letter: Letter) -> None:
        return None

    @contextmanager
    def open(self) -> Iterator[Callable[[None], None]]:
        yield lambda message: None


def dispatcher_own_work(fresh: Fresh, count: int) -> float:
    """ms per message of dispatch with the no-op e-mail channel (in this process only)."""
    original = channels.CHANNELS
    channels.CHANNELS = tuple(_NoOpEmail if c is EmailChannel else c for c in original)
    dispatched: list[float] = []
    try:
        with fresh(count, True) as url:
            services = make_services(url, "file:///nonexistent")
            try:
                with dispatch_timer(dispatched):
                    report = run_tick(services, AS_OF)
            finally:
                services.database.dispose()
    finally:
        channels.CHANNELS = original
    assert report.dispatch is not None
    if report.dispatch.sent.total != count:
        raise SystemExit(f"no-op dispatch: {report.dispatch.sent.total} sent, expected {count}")
    return dispatched[0] / count * 1000


def bench_delivery(backend: str, fresh: Fresh, sink: Sink, client: SimpleClient, count: int,
                   repeat: int, naive_count: int) -> list[Figure]:
    """Each run: the naive floor, the reused-connection bound, then run_tick on a fresh
    database, back to back; the ratios reported are medians of per-run ratios."""
    naive, reused, totals, dispatches, size = [], [], [], [], 0
    for _ in range(repeat):
        naive.append(floor(sink, client, naive_count, reuse=False))
        reused.append(floor(sink, client, naive_count, reuse=True))
        with fresh(count, True) as url:
            total, dispatched, size = deliver(url, sink, count)
        totals.append(total)
        dispatches.append(dispatched)
    own = dispatcher_own_work(fresh, count)
    rates = [count / t for t in totals]
    to_naive = [rate / f for rate, f in zip(rates, naive)]
    bound = [r / f for r, f in zip(reused, naive)]
    total, dispatched = statistics.median(totals), statistics.median(dispatches)
    return [
        Figure(f"{backend} run: naive floor, new connection per message ({naive_count:,})",
               naive, "msg/s", note="render + EmailMessage + smtplib connect/EHLO/send/QUIT"),
        Figure(f"{backend} run: simple client, one reused connection ({naive_count:,})",
               reused, "msg/s", note=f"no database; {statistics.median(bound):.2f}x the "
                                     "naive floor: what reusing the connection alone gives"),
        Figure(f"{backend}: end to end, run_tick ({count:,} reminders)", totals, "s",
               f"<= {DELIVERY_TARGET_S:g} s", total <= DELIVERY_TARGET_S,
               f"plan + commit {total - dispatched:.2f} s, dispatch {dispatched:.2f} s; "
               f"{size / count / 1024:.1f} KiB per message on the wire"),
        Figure(f"{backend}: end-to-end throughput", rates, "msg/s"),
        Figure(f"{backend}: the dispatcher's own work, no-op e-mail channel", [own], "ms",
               note="per message: claim, read again, check, record"),
        Figure(f"{backend}: end to end / naive floor", to_naive, "x",
               f">= {NAIVE_RATIO_TARGET:g}x", statistics.median(to_naive) >= NAIVE_RATIO_TARGET),
    ]


# --- 3. Memory, in child processes -----------------------------------------------------------


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
    result["sent"] = report.dispatch.sent.total
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
                f"proportional would be {large / small:.1f}x; {per:.2f} KiB per extra "
                "reminder"))
    return figures


# --- Profile ---------------------------------------------------------------------------------


def profile_run_tick(fresh: Fresh, sink: Sink, count: int) -> None:
    with fresh(count, True) as url:
        services = make_services(url, sink.url)
        profiler = cProfile.Profile()
        try:
            profiler.runcall(run_tick, services, AS_OF)
        finally:
            services.database.dispose()
    print(f"\ncProfile of run_tick, SQLite, {count:,} reminders:")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(30)


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
                        help="runs per delivery figure (the floors and end to end; each "
                             "takes about a minute) (default: %(default)s)")
    parser.add_argument("--naive", type=int, default=MEMORY_SMALL,
                        help="messages per floor (default: %(default)s)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory figures")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of one run_tick on SQLite")
    parser.add_argument("--profile-subscribers", type=int, default=2_000,
                        help="reminders in the profiled run (default: %(default)s)")
    parser.add_argument("--sink-timeout", type=float, default=3600.0,
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
        backends = [("SQLite", sqlite_backend(Path(tmp)))]
        if pg_url:
            backends.append(("PostgreSQL", postgres_backend(pg_url)))
        sink = Sink(args.sink_timeout)
        try:
            say(f"sink listening on 127.0.0.1:{sink.port} (pid {sink.process.pid})")
            with backends[0][1](1, True) as url:
                client = SimpleClient(url)
            size = len(client.message(0).as_bytes())
            figures.append(Figure("client work alone, simple client",
                                  [build_only(client.message, args.naive)], "ms",
                                  note=f"render + EmailMessage + serialise, per message, no "
                                       f"sending; {size:,} bytes"))
            figures.append(Figure("client work alone, the service's build_email",
                                  [build_only(service_message(client), args.naive)], "ms",
                                  note="the same, From and To formatted with formataddr"))
            for backend, fresh in backends:
                say(f"{backend}: planning ...")
                figures += bench_planning(backend, fresh, n, args.repeat)
                say(f"{backend}: floors and end to end ...")
                figures += bench_delivery(backend, fresh, sink, client, n,
                                          args.delivery_repeat, args.naive)
            if not args.no_memory:
                say("memory (child processes) ...")
                figures += bench_memory(backends[0][1], sink, n)
            print(f"\n{n:,} subscribers x events/2024.toml; day measured: "
                  f"{AS_OF.isoformat()} (Điện Biên Phủ −7 d); planning: median of "
                  f"{args.repeat}, delivery: median of {args.delivery_repeat}; load average "
                  f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after "
                  f"({os.cpu_count()} CPUs)\n")
            print_table(figures)
            if not pg_url:
                print(f"\nPostgreSQL skipped: set {PG_ENV} to measure it.")
            if args.profile:
                profile_run_tick(backends[0][1], sink, args.profile_subscribers)
        finally:
            sink.stop()
    say(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
