"""Benchmark the iCalendar feed, GET /calendar.ics (issue 3), against bare icalendar, nginx
and Radicale, on the same bytes.

Install the tools first (they are not dependencies of the service, so they are not in
pyproject.toml):

    apt-get update && apt-get install -y nginx wrk
    .venv/bin/pip install radicale gunicorn

Then, from the repository root:

    .venv/bin/python bench/feed.py [--counts 1000,10000] [--duration 5] [--repeat 3]
                                   [--cold-budget 60] [--worker-classes sync,gthread]
                                   [--skip-radicale] [--skip-floor] [--profile]
                                   [--json bench/results/feed.json]

A benchmark, not a test. For each count of synthetic commemorations (default 1,000 and 10,000,
loaded into a fresh SQLite file database, 1 % of them cancelled and 2 % updated, as the feed
shows both) it measures:

1. cold build: (a) bare icalendar — Calendar/Event objects with the same properties for the same
   occurrences (values computed beforehand, not timed), then to_ical(); (b) our render(): store
   query, anniversary engine, build_calendar, gzip and hash. Both must give the same bytes.
   Median of --repeat runs, run alternately (fewer when --cold-budget seconds would be
   exceeded: a 10,000-commemoration pair takes ~25 s). Target: (b) within 1.3x of (a).
2. the app served by gunicorn (2 workers, sync and gthread) on 127.0.0.1, driven by wrk in
   another process: warm GET /calendar.ics (200, full body, no gzip) and the 304 path
   (If-None-Match with the ETag the app returned). CALENDAR_FEED_VERSION_CHECK_SECONDS=1 (the
   default). Targets: 200 at least a third of nginx's rate; 304 above 5,000 requests/s.
3. nginx (2 workers, from a generated nginx.conf in a temporary prefix) serving the same bytes
   as a static file: 200, and 304 with the ETag nginx returns.
4. Radicale (built-in server, auth none, filesystem storage: one .ics item per event, the
   VEVENT bytes cut from our feed) answering GET on the collection: a gentler wrk run
   (-t1 -c2; Radicale is one process whose work holds the GIL, so more connections only queue).
5. for reference, gunicorn serving a trivial WSGI app that answers 304 (bench/wsgi_floor.py):
   the server's own ceiling on this machine, which no app behind it can beat.

Everything listens on 127.0.0.1 only and lives in a temporary directory that is removed at the
end; every server started here is stopped in a finally block; every wait is bounded. Nothing is
written into the repository, except the optional --json file (put it under bench/results/,
which git ignores). wrk and the servers share the machine's CPUs: the figures are for
comparison on one machine, not capacity planning.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gzip
import hashlib
import io
import json
import os
import platform
import pstats
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from importlib import metadata, util
from pathlib import Path

INSTALL = ("apt-get update && apt-get install -y nginx wrk\n"
           ".venv/bin/pip install radicale gunicorn")

BENCH_DIR = Path(__file__).resolve().parent
SEED = 20240507  # fixed, so every run benchmarks exactly the same catalogue
HOST = "127.0.0.1"
COLD_TARGET = 1.3  # ours / bare icalendar
WARM_TARGET = 1 / 3  # gunicorn 200 rate / nginx 200 rate
NOT_MODIFIED_TARGET = 5_000.0  # requests/s
FIRST_SYNC = datetime(2024, 1, 5, 3, 0, tzinfo=timezone.utc)
SECOND_SYNC = datetime(2024, 6, 1, 3, 0, tzinfo=timezone.utc)
CANCELLED_SHARE = 0.01
UPDATED_SHARE = 0.02

# The same vocabulary as bench/engine.py's synthetic catalogue.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import KINDS, PEOPLE, PLACES  # noqa: E402

# --- Tools -------------------------------------------------------------------------------------


@dataclass
class Tools:
    nginx: str | None
    wrk: str | None
    gunicorn: str | None
    radicale: bool


def find_tools() -> Tools:
    venv_bin = Path(sys.executable).parent
    gunicorn = venv_bin / "gunicorn"
    return Tools(
        nginx=shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)),
            None),
        wrk=shutil.which("wrk"),
        gunicorn=str(gunicorn) if gunicorn.exists() and util.find_spec("gunicorn") else None,
        radicale=util.find_spec("radicale") is not None,
    )


def version_of(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def command_version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (done.stdout + done.stderr).strip().splitlines()[0] if (done.stdout + done.stderr) \
        else "?"


def cpu_busy(seconds: float = 2.0) -> float | None:
    """The share of all CPUs busy over `seconds` (from /proc/stat): what else is running."""
    def sample():
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait
    try:
        total1, idle1 = sample()
        time.sleep(seconds)
        total2, idle2 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1 - (idle2 - idle1) / max(1, total2 - total1)


def machine() -> dict[str, str]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "python": platform.python_version(),
        "os": platform.platform(),
    }


# --- Synthetic catalogue -----------------------------------------------------------------------


def synthetic_commemorations(count: int, window_years: range):
    """Catalogue values like bench/engine.py's: 1 % year-only origins (half with an observance
    day in every window year), 0.5 % on 29 February, some notes, aliases and lead times."""
    from calendar_service.catalogue import Commemoration
    from calendar_service.catalogue.model import designations_of
    from calendar_service.vietnamese import fold

    rng = random.Random(SEED)
    out = []
    for index in range(count):
        prefix, category = rng.choice(KINDS)
        subject = rng.choice(PEOPLE if category == "birth-anniversary" else PLACES)
        title = f"{prefix} {subject}"
        ident = f"{'-'.join(fold(title).split())}-{index:05d}"
        roll = rng.random()
        observances: tuple[tuple[int, date], ...] = ()
        if roll < 0.01:
            year, month, day = rng.randint(1880, 1990), None, None
            when = f"Năm {year}"
            if rng.random() < 0.5:
                observances = tuple((y, date(y, 7, 27)) for y in window_years)
        else:
            if roll < 0.015:
                origin = date(rng.choice(range(1904, 2020, 4)), 2, 29)
            else:
                origin = date(rng.randint(1880, 2019), 1, 1) + timedelta(days=rng.randrange(365))
            year, month, day = origin.year, origin.month, origin.day
            when = f"Ngày {origin.day:02d}/{origin.month}/{origin.year}"
        out.append(Commemoration(
            id=ident,
            title=title,
            category=category,
            origin_year=year,
            origin_month=month,
            origin_day=day,
            description=(f"{when}, {title.lower()}: sự kiện tiêu biểu của quân và dân {subject},"
                         f" góp phần vào thắng lợi chung của cách mạng Việt Nam."),
            source="bench/feed.py, dữ liệu sinh ngẫu nhiên có hạt giống cố định",
            location=f"{subject}, tỉnh Quảng Nam",
            note="Ghi chú của biên tập viên." if rng.random() < 0.05 else None,
            aliases=(f"Lễ kỷ niệm {subject}",) if rng.random() < 0.1 else (),
            lead_days=(30, 7, 1) if rng.random() < 0.05 else None,
            designations=designations_of(
                {rng.choice(window_years)} if rng.random() < 0.2 else {2024}, year),
            observances=observances,
            source_file="synthetic.toml",
        ))
    return out


def directive_headers(values):
    """The [catalogue] header of each directive the values' designations name: designations
    are stored against their directive, as `load` stores a designating file's header."""
    from calendar_service.catalogue.model import (
        CatalogueFile,
        default_directive_id,
        default_directive_label,
    )

    years = sorted({d.year for c in values for d in c.designations})
    return tuple(CatalogueFile(path=f"synthetic-{y}.toml", designates=y,
                               directive=default_directive_label(y), source=None,
                               theme="Các ngày kỷ niệm (dữ liệu sinh cho bench)",
                               id=default_directive_id(y), name=default_directive_label(y))
                 for y in years)


def build_store(workdir: Path, count: int, window_years: range) -> str:
    """A migrated SQLite file with `count` commemorations; returns its URL."""
    from dataclasses import replace

    from calendar_service.catalogue import Catalogue
    from calendar_service.store import Database, sync_catalogue, upgrade

    url = f"sqlite:///{workdir / f'feed-{count}.db'}"
    db = Database(url)
    try:
        upgrade(db.engine)
        values = synthetic_commemorations(count, window_years)
        with db.session() as session:
            sync_catalogue(session, Catalogue(directive_headers(values), tuple(values)),
                           FIRST_SYNC)
        # Second load: some entries gone (cancelled, still in the feed), some changed.
        rng = random.Random(SEED + 1)
        kept = []
        for c in values:
            roll = rng.random()
            if roll < CANCELLED_SHARE:
                continue
            if roll < CANCELLED_SHARE + UPDATED_SHARE:
                c = replace(c, description=c.description + " (Đã cập nhật.)")
            kept.append(c)
        with db.session() as session:
            sync_catalogue(session, Catalogue(directive_headers(kept), tuple(kept)),
                           SECOND_SYNC)
    finally:
        db.dispose()
    return url


# --- Cold build --------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    value: float  # seconds for builds, requests/s for servers
    unit: str  # "s", "x" (a ratio) or "req/s"
    runs: list[float] = field(default_factory=list)
    target: str = ""
    met: bool | None = None
    note: str = ""

    def shown(self) -> str:
        if self.unit == "s":
            return f"{self.value:.3f} s"
        if self.unit == "x":
            return f"{self.value:.2f}x"
        return f"{self.value:,.{2 if self.value < 10 else 0}f} req/s"


def bare_inputs(items, query, site, window):
    """Everything build_calendar adds, computed once beforehand (not timed): the bare
    icalendar build then does nothing but icalendar work."""
    from icalendar import vDuration, vText

    from calendar_service.feeds import ical

    name = ical.calendar_name(query)
    undecided = [o for o, s in items if o.date is None and not s.cancelled]
    text = ical.calendar_description(undecided, window)
    calendar = [
        ("prodid", ical.PRODID, None),
        ("version", "2.0", None),
        ("calscale", "GREGORIAN", None),
        ("uid", f"{query.slug()}@{site.host}", None),
        ("name", name, None),
        ("x-wr-calname", name, None),
        ("description", text, None),
        ("x-wr-caldesc", vText(text), None),
        ("x-wr-timezone", site.timezone, None),
        ("refresh-interval", site.refresh, {"VALUE": "DURATION"}),
        ("x-published-ttl", vDuration(site.refresh), None),
    ]
    events = []
    for occ, stored in items:
        if occ.date is None:
            continue
        c = occ.commemoration
        events.append((
            ical.uid_for(occ, site.host), stored.updated_at, occ.date,
            occ.date + timedelta(days=1), ical.summary(occ), ical.description(occ, site),
            site.event_url(c.id), ical.categories(occ),
            ical.nfc(c.location) if c.location else None, stored.revision,
            "CANCELLED" if stored.cancelled else "CONFIRMED",
        ))
    return calendar, events


def bare_build(calendar, events) -> bytes:
    from icalendar import Calendar, Event

    cal = Calendar()
    for name, value, parameters in calendar:
        cal.add(name, value, parameters=parameters)
    for (uid, stamp, start, end, summary, description, url, categories, location, sequence,
         status) in events:
        event = Event()
        event.add("uid", uid)
        event.add("dtstamp", stamp)
        event.add("last-modified", stamp)
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", summary)
        event.add("description", description)
        event.add("url", url)
        event.add("categories", categories)
        if location:
            event.add("location", location)
        event.add("transp", "TRANSPARENT")
        event.add("sequence", sequence)
        event.add("status", status)
        event.add("class", "PUBLIC")
        cal.add_component(event)
    return cal.to_ical()


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def bench_cold(services, repeat: int, budget: float):
    """Returns (rows, rendered feed, number of events). Pairs of runs (bare, ours) until
    `repeat` pairs are done or the next pair would end past `budget` seconds (at least one)."""
    from calendar_service.feeds.ical import FeedSite
    from calendar_service.feeds.query import FeedQuery
    from calendar_service.feeds.service import FeedCache, render
    from calendar_service.store import stored_occurrences_between

    query = FeedQuery()
    window = FeedCache(services).window(query)
    s = services.settings
    site = FeedSite(s.base_url, s.timezone, s.feed_refresh)

    def store_query():
        with services.database.session() as session:
            items = stored_occurrences_between(session, window[0], window[1],
                                               include_cancelled=True)
        return [(o, st) for o, st in items if query.accepts(o)]

    items = store_query()  # also the warm-up of the connection pool and statement cache
    calendar, events = bare_inputs(items, query, site, window)
    bare_build(calendar, events[:50])  # warm-up of icalendar's lazy imports and factories
    bare_runs, ours_runs, query_runs, gzip_runs, hash_runs = [], [], [], [], []
    feed = None
    started = time.monotonic()
    other = OtherCpu().__enter__()
    for n in range(repeat):
        if n and (time.monotonic() - started) * (n + 1) / n > budget:
            break
        # Alternate the order so neither side always runs right after the other's garbage.
        order = ("bare", "ours") if n % 2 == 0 else ("ours", "bare")
        for side in order:
            if side == "bare":
                elapsed, bare = timed(bare_build, calendar, events)
                bare_runs.append(elapsed)
            else:
                elapsed, feed = timed(render, services, query, window)
                ours_runs.append(elapsed)
        if n == 0 and bare != feed.body:
            raise SystemExit("bare icalendar and render() disagree: the comparison would be "
                             "meaningless (did build_calendar change? update bare_build)")
        query_runs.append(timed(store_query)[0])
        gzip_runs.append(timed(lambda: gzip.compress(feed.body, 6, mtime=0))[0])
        hash_runs.append(timed(lambda: hashlib.sha256(feed.body).hexdigest()[:32])[0])
    other.__exit__(None, None, None)
    bare_s, ours_s = statistics.median(bare_runs), statistics.median(ours_runs)
    parts = {name: statistics.median(runs) for name, runs in
             (("query", query_runs), ("gzip", gzip_runs), ("hash", hash_runs))}
    ratio = ours_s / bare_s
    rows = [
        Row("cold: bare icalendar build + to_ical", bare_s, "s", bare_runs,
            note=f"{len(events):,} events, {len(feed.body) / 1e6:.1f} MB; "
                 f"median of {len(bare_runs)}"),
        Row("cold: render() (query+engine+build+gzip+hash)", ours_s, "s", ours_runs),
        Row("cold: render() / bare icalendar", ratio, "x", target=f"<= {COLD_TARGET}x",
            met=ratio <= COLD_TARGET,
            note="" if other.cpus is None or other.cpus < 0.1
            else f"other processes used {other.cpus:.1f} CPU"),
        Row("  of which store query + engine", parts["query"], "s", query_runs),
        Row("  of which gzip -6", parts["gzip"], "s", gzip_runs),
        Row("  of which sha256", parts["hash"], "s", hash_runs),
        Row("  so build_calendar (render - the above)",
            ours_s - sum(parts.values()), "s",
            note=f"vs bare: {(ours_s - sum(parts.values())) / bare_s:.2f}x"),
    ]
    return rows, feed, len(events)


# --- Processes ---------------------------------------------------------------------------------


# Process groups of the servers running now (each is started in a session of its own).
RUNNING_GROUPS: set[int] = set()
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _busy_ticks() -> int:
    """CPU time spent by anything, all CPUs: user + nice + system + steal (a neighbour's VM
    taking our CPU is contention too); idle, iowait and interrupts are left out."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return f[0] + f[1] + f[2] + f[7]


def _group_ticks(groups: set[int]) -> int:
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) in groups:  # pgrp; utime and stime follow at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total


class OtherCpu:
    """How many CPUs other processes used during a block: everything busy minus this process,
    its waited-for children (wrk) and the servers' process groups. On a shared machine this
    says which figures were taken while something else was running."""

    def __enter__(self) -> OtherCpu:
        self.cpus: float | None = None
        try:
            self._start = (_busy_ticks(), _group_ticks(RUNNING_GROUPS), os.times())
        except (OSError, ValueError, IndexError):
            self._start = None
        return self

    def __exit__(self, *exc) -> None:
        if self._start is None:
            return
        try:
            busy, groups, times = _busy_ticks(), _group_ticks(RUNNING_GROUPS), os.times()
        except (OSError, ValueError, IndexError):
            return
        busy0, groups0, times0 = self._start
        elapsed = times.elapsed - times0.elapsed
        ours = ((groups - groups0) / CLK_TCK + sum(times[:4]) - sum(times0[:4]))
        if elapsed > 0:
            self.cpus = max(0.0, ((busy - busy0) / CLK_TCK - ours) / elapsed)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """A process started in its own session, stopped (with all its children) at the end."""

    def __init__(self, name: str, argv: list[str], log: Path, **popen) -> None:
        self.name = name
        self.log = log
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(argv, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, **popen)
        RUNNING_GROUPS.add(self.proc.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        # The process group is this server's own (start_new_session): its workers go too.
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(wait)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers of the group, if any
        RUNNING_GROUPS.discard(self.proc.pid)
        self._log_file.close()


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 30.0):
    """(status, headers, body); no Accept-Encoding is sent, as with wrk."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:  # 304 and errors arrive here
        return exc.code, dict(exc.headers), exc.read()


def wait_until(predicate, timeout: float, what: str, server: Server | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and not server.alive():
            raise RuntimeError(f"{server.name} exited while {what}:\n{server.tail()}")
        with contextlib.suppress(OSError):
            if predicate():
                return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout:.0f} s {what}"
                       + (f":\n{server.tail()}" if server else ""))


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


# --- wrk ---------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rate: float
    bytes_read: float
    errors: str
    non_2xx_3xx: int
    p50: str
    p99: str
    other_cpus: float | None = None

    @property
    def bytes_per_request(self) -> float:
        return self.bytes_read / self.requests if self.requests else 0.0


_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def run_wrk(wrk: str, url: str, duration: float, threads: int, connections: int,
            headers: dict[str, str] | None = None, timeout_s: float = 10) -> WrkResult:
    duration, timeout_s = max(1, round(duration)), max(1, round(timeout_s))  # whole seconds
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s",
            "--timeout", f"{timeout_s}s", "--latency"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(url)
    with OtherCpu() as other:
        done = subprocess.run(argv, capture_output=True, text=True,
                              timeout=duration + timeout_s + 30)
    out = done.stdout
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr or out}")
    total = re.search(r"(\d+) requests in ([\d.]+)(m?s|m), ([\d.]+)([KMGT]?B) read", out)
    if total is None:
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    seconds = float(total[2]) * {"s": 1, "ms": 1e-3, "m": 60}[total[3]]
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    non = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    return WrkResult(
        requests=int(total[1]),
        seconds=seconds,
        rate=float(rate[1]) if rate else 0.0,
        bytes_read=float(total[4]) * _UNITS[total[5]],
        errors=errors[1].strip() if errors else "",
        non_2xx_3xx=int(non[1]) if non else 0,
        p50=p50[1] if p50 else "?",
        p99=p99[1] if p99 else "?",
        other_cpus=other.cpus,
    )


def http_row(label: str, result: WrkResult, *, expect_body: int | None = None,
             target: str = "", met: bool | None = None) -> Row:
    note = (f"{result.requests:,} req, p50 {result.p50}, p99 {result.p99}, "
            f"{result.bytes_per_request / 1024:,.1f} KiB/resp")
    problems = []
    if result.errors:
        problems.append(f"socket errors: {result.errors}")
    if result.non_2xx_3xx:
        problems.append(f"{result.non_2xx_3xx} non-2xx/3xx")
    # A 200 run whose responses are smaller than the body was not serving the feed.
    # (wrk prints the bytes read with three significant digits: allow for the rounding.)
    if (expect_body is not None and result.requests
            and result.bytes_per_request < 0.98 * expect_body):
        problems.append("RESPONSES SHORTER THAN THE FEED")
    if expect_body is None and result.bytes_per_request > 4096:
        problems.append("RESPONSES TOO LARGE FOR 304s")
    if result.other_cpus is not None and result.other_cpus >= 0.1:
        problems.append(f"other processes used {result.other_cpus:.1f} CPU")
    if problems:
        note += "; " + "; ".join(problems)
    return Row(label, result.rate, "req/s", target=target, met=met, note=note)


# --- Servers -----------------------------------------------------------------------------------


@contextlib.contextmanager
def gunicorn_server(tools: Tools, workdir: Path, db_url: str, worker_class: str,
                    boot_timeout: float, app: str = "wsgi_app:app") -> Iterator[str]:
    """gunicorn, 2 workers; with the feed app, only once both workers have a warm cache."""
    warm = app == "wsgi_app:app"
    port = free_port()
    ready = Path(tempfile.mkdtemp(prefix=f"ready-{worker_class}-", dir=workdir))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALENDAR_")}
    env.update({
        "CALENDAR_DATABASE_URL": db_url,
        "CALENDAR_FEED_VERSION_CHECK_SECONDS": "1",
        "CALENDAR_ENV": "production",
        "CALENDAR_SECRET_KEY": "bench-feed-not-a-secret",
        "BENCH_FEED_WARM": "1",
        "BENCH_FEED_READY_DIR": str(ready),
    })
    argv = [tools.gunicorn, "--bind", f"{HOST}:{port}", "--workers", "2",
            "--worker-class", worker_class, "--timeout", str(int(boot_timeout) + 30),
            "--log-level", "warning", "--pythonpath", str(BENCH_DIR), app]
    if worker_class == "gthread":
        argv[argv.index("--worker-class") + 2:argv.index("--worker-class") + 2] = [
            "--threads", "4"]
    # cwd: the temporary directory, so no .env of the repository is read.
    server = Server(f"gunicorn ({worker_class})", argv, workdir / f"gunicorn-{worker_class}.log",
                    cwd=workdir, env=env)
    try:
        if warm:
            wait_until(lambda: len(list(ready.iterdir())) >= 2 and listening(port),
                       boot_timeout, "waiting for 2 warm gunicorn workers", server)
        else:
            wait_until(lambda: listening(port), boot_timeout, "waiting for gunicorn", server)
            time.sleep(1)  # both workers: they import nothing heavy
        yield f"http://{HOST}:{port}"
    finally:
        server.stop()


NGINX_CONF = """\
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/client_body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    types {{ text/calendar ics; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/calendar;
    sendfile on;
    tcp_nopush on;
    server {{
        listen {host}:{port};
        root {prefix}/www;
        location / {{ }}
    }}
}}
"""


@contextlib.contextmanager
def nginx_server(tools: Tools, workdir: Path, body: bytes) -> Iterator[str]:
    prefix = workdir / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    (prefix / "www").mkdir()
    (prefix / "www" / "calendar.ics").write_bytes(body)
    for path in (workdir, prefix, prefix / "www"):
        path.chmod(0o755)  # the workers may run as another user when started as root
    (prefix / "www" / "calendar.ics").chmod(0o644)
    port = free_port()
    user = "user root;" if os.geteuid() == 0 else ""  # as root, keep the files' owner
    (prefix / "nginx.conf").write_text(NGINX_CONF.format(prefix=prefix, host=HOST, port=port,
                                                         user=user))
    argv = [tools.nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
            "-e", str(prefix / "error.log"), "-g", "daemon off;"]
    server = Server("nginx", argv, workdir / "nginx.log")
    try:
        wait_until(lambda: listening(port), 15, "waiting for nginx", server)
        yield f"http://{HOST}:{port}/calendar.ics"
    finally:
        server.stop()


def radicale_storage(root: Path, body: bytes) -> Path:
    """collection-root/bench/feed/: one item per VEVENT, the VEVENT bytes as in our feed."""
    collection = root / "collection-root" / "bench" / "feed"
    collection.mkdir(parents=True)
    head, _, _ = body.partition(b"BEGIN:VEVENT\r\n")
    name = re.search(rb"^X-WR-CALNAME:(.*)$", head, re.M)
    props = {"tag": "VCALENDAR", "C:supported-calendar-component-set": "VEVENT"}
    if name:
        props["D:displayname"] = name[1].decode("utf-8").strip()
    (collection / ".Radicale.props").write_text(json.dumps(props, ensure_ascii=False),
                                                encoding="utf-8")
    wrapper = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calendar-service//bench//VI\r\n"
    for n, match in enumerate(re.finditer(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", body, re.S)):
        (collection / f"e{n:06d}.ics").write_bytes(wrapper + match[0] + b"END:VCALENDAR\r\n")
    return collection


@contextlib.contextmanager
def radicale_server(workdir: Path, body: bytes) -> Iterator[str]:
    root = workdir / "radicale"
    radicale_storage(root, body)
    port = free_port()
    config = root / "config"
    config.write_text(
        "[server]\n"
        f"hosts = {HOST}:{port}\n"
        "[auth]\ntype = none\n"
        "[rights]\ntype = authenticated\n"
        f"[storage]\nfilesystem_folder = {root}\n"
        "[web]\ntype = none\n"
        "[logging]\nlevel = warning\n", encoding="utf-8")
    env = dict(os.environ)
    server = Server("radicale", [sys.executable, "-m", "radicale", "--config", str(config)],
                    workdir / "radicale.log", cwd=workdir, env=env)
    try:
        wait_until(lambda: listening(port), 30, "waiting for radicale", server)
        yield f"http://{HOST}:{port}/bench/feed/"
    finally:
        server.stop()


# --- In-process WSGI (no server): the ceiling, and where the time goes -------------------------


def wsgi_environ(path: str, headers: dict[str, str]) -> dict:
    environ = {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": HOST, "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": HOST, "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def wsgi_call(app, headers: dict[str, str]) -> tuple[str, int]:
    status = ""

    def start_response(s, _headers, exc_info=None):
        nonlocal status
        status = s
        return lambda data: None

    result = app(wsgi_environ("/calendar.ics", headers), start_response)
    size = 0
    try:
        for chunk in result:
            size += len(chunk)
    finally:
        if hasattr(result, "close"):
            result.close()
    return status, size


def bench_in_process(services, etag: str, seconds: float, profile: bool) -> list[Row]:
    from calendar_service.app import create_app

    app = create_app(services)
    rows = []
    for label, headers, expect in (("200", {}, "200"),
                                   ("304", {"If-None-Match": f'"{etag}"'}, "304")):
        status, _ = wsgi_call(app, headers)  # the first call builds the cache
        if not status.startswith(expect):
            raise SystemExit(f"in-process GET /calendar.ics ({label}) answered {status}")
        calls, start = 0, time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            wsgi_call(app, headers)
            calls += 1
        rate = calls / (time.perf_counter() - start)
        rows.append(Row(f"in-process WSGI call, no server, {label} (1 thread)", rate, "req/s",
                        note="the app's own ceiling per core"))
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(min(calls, 20_000)):
                wsgi_call(app, headers)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
            print(f"\n--- profile of the in-process {label} path "
                  f"({min(calls, 20_000):,} calls), by cumulative time ---")
            print("\n".join(out.getvalue().splitlines()[4:]))
    return rows


# --- Report ------------------------------------------------------------------------------------


def print_table(title: str, rows: list[Row]) -> None:
    header = ("measure", "value", "target", "", "note")
    cells = [header] + [(r.measure, r.shown(), r.target,
                         "" if r.met is None else ("ok" if r.met else "MISSED"), r.note)
                        for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, c in enumerate(cells):
        print("  ".join(cell.rjust(w) if i == 1 else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(c, widths))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def check_same(label: str, body: bytes, expected: bytes) -> None:
    if body != expected:
        raise RuntimeError(f"{label} did not serve the same bytes (if the run crossed midnight "
                           f"in CALENDAR_TIMEZONE, the feed's window moved: run again) "
                           f"({len(body)} bytes, sha256 {hashlib.sha256(body).hexdigest()[:16]};"
                           f" expected {len(expected)}, {hashlib.sha256(expected).hexdigest()[:16]})")


def gunicorn_label(worker_class: str) -> str:
    return f"gunicorn 2x{worker_class}" + (" (4 threads)" if worker_class == "gthread" else "")


def bench_count(count: int, args, tools: Tools, workdir: Path) -> list[Row]:
    from calendar_service.app_context import Services
    from calendar_service.config import Settings
    from calendar_service.feeds.query import FeedQuery

    env = {"CALENDAR_FEED_VERSION_CHECK_SECONDS": "1"}
    probe = Services(Settings.from_env(env, env_file=None))
    from calendar_service.feeds.service import FeedCache

    window = FeedCache(probe).window(FeedQuery())
    db_url = build_store(workdir, count, range(window[0].year, window[1].year + 1))
    services = Services(Settings.from_env({**env, "CALENDAR_DATABASE_URL": db_url},
                                          env_file=None))
    print(f"\n=== {count:,} commemorations, feed window {window[0]} .. {window[1]} ===",
          flush=True)
    rows, feed, events = bench_cold(services, args.repeat, args.cold_budget)
    body = feed.body
    print(f"cold builds done: {events:,} events, {len(body):,} bytes", flush=True)
    rows += bench_in_process(services, feed.etag, min(args.duration, 3), args.profile)
    services.database.dispose()

    duration = args.duration
    nginx_rate: float | None = None

    def stage(name: str, fn) -> None:
        """A failed server stage is reported as a row; the others still run."""
        try:
            fn()
        except (RuntimeError, OSError, KeyError, subprocess.SubprocessError) as exc:
            print(f"{name} FAILED: {exc}", file=sys.stderr, flush=True)
            rows.append(Row(f"{name}: FAILED", 0.0, "req/s", met=False,
                            note=str(exc).splitlines()[0][:120]))
        else:
            print(f"{name} done", flush=True)

    def nginx() -> None:
        nonlocal nginx_rate
        with nginx_server(tools, workdir, body) as url:
            status, headers, got = http_get(url)
            check_same("nginx", got, body)
            etag = headers["ETag"]
            status_304, _, _ = http_get(url, {"If-None-Match": etag})
            if status != 200 or status_304 != 304:
                raise RuntimeError(f"nginx answered {status} / {status_304}, not 200 / 304")
            r200 = run_wrk(tools.wrk, url, duration, 2, 32)
            r304 = run_wrk(tools.wrk, url, duration, 2, 32, {"If-None-Match": etag})
        nginx_rate = r200.rate
        rows.append(http_row("nginx static file, 200", r200, expect_body=len(body)))
        rows.append(http_row("nginx static file, 304", r304))
        rows[-1].note = f"ETag {etag}; " + rows[-1].note

    def gunicorn(worker_class: str) -> None:
        boot_timeout = 60 + count / 100  # a cold build of 10,000 takes ~10 s per worker
        with gunicorn_server(tools, workdir, db_url, worker_class, boot_timeout) as base:
            url = f"{base}/calendar.ics"
            status, headers, got = http_get(url)
            check_same(f"gunicorn {worker_class}", got, body)
            etag = headers["ETag"]
            status_304, _, _ = http_get(url, {"If-None-Match": etag})
            if status != 200 or status_304 != 304 or etag != f'"{feed.etag}"':
                raise RuntimeError(f"gunicorn answered {status} / {status_304} ({etag})")
            r200 = run_wrk(tools.wrk, url, duration, 2, 32)
            r304 = run_wrk(tools.wrk, url, duration, 2, 32, {"If-None-Match": etag})
        label = gunicorn_label(worker_class)
        share = r200.rate / nginx_rate if nginx_rate else None
        rows.append(http_row(
            f"{label}, warm 200", r200, expect_body=len(body),
            target="" if share is None else ">= 1/3 of nginx",
            met=None if share is None else share >= WARM_TARGET))
        if share is not None:
            rows[-1].note = f"{share:.2f} of nginx; " + rows[-1].note
        rows.append(http_row(f"{label}, 304", r304, target=f"> {NOT_MODIFIED_TARGET:,.0f}",
                             met=r304.rate > NOT_MODIFIED_TARGET))

    def radicale() -> None:
        with radicale_server(workdir, body) as url:
            # The first GET parses every item and fills Radicale's cache: not measured.
            first_s, (status, _, got) = timed(lambda: http_get(url, timeout=300))
            if status != 200:
                raise RuntimeError(f"radicale answered {status}")
            warm_s, _ = timed(lambda: http_get(url, timeout=300))
            # Radicale is one process (its work holds the GIL): more connections only queue.
            rduration = min(max(5, duration / 2, 5 * warm_s), 30)
            result = run_wrk(tools.wrk, url, rduration, 1, 2, timeout_s=max(10, 6 * warm_s))
        rows.append(http_row("radicale (built-in server), GET collection", result,
                             expect_body=len(got)))
        rows[-1].note = (f"{len(got) / 1e6:.1f} MB (its own serialisation); first GET "
                         f"{first_s:.1f} s, second {warm_s:.1f} s; " + rows[-1].note)

    def floor(worker_class: str) -> None:
        with gunicorn_server(tools, workdir, db_url, worker_class, 30,
                             app="wsgi_floor:app") as base:
            result = run_wrk(tools.wrk, f"{base}/calendar.ics", duration, 2, 32)
        rows.append(http_row(f"{gunicorn_label(worker_class)}, trivial app answering 304",
                             result))
        rows[-1].note = "server floor, no Flask; " + rows[-1].note

    stage("nginx", nginx)
    for worker_class in args.worker_classes:
        stage(f"gunicorn {worker_class}", lambda: gunicorn(worker_class))
        if args.floor:
            stage(f"gunicorn {worker_class} floor", lambda: floor(worker_class))
    if not args.skip_radicale:
        stage("radicale", radicale)
    for row in rows:
        row.measure = f"[{count:,}] {row.measure}"
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="1000,10000",
                        help="synthetic commemorations, comma-separated (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="cold builds per side; the median is reported (default: %(default)s)")
    parser.add_argument("--cold-budget", type=float, default=60,
                        help="seconds of cold builds per count: fewer repeats past it, at "
                             "least one (default: %(default)s)")
    parser.add_argument("--duration", type=float, default=5,
                        help="seconds per wrk run (default: %(default)s)")
    parser.add_argument("--worker-classes", default="sync,gthread",
                        help="gunicorn worker classes (default: %(default)s)")
    parser.add_argument("--skip-radicale", action="store_true")
    parser.add_argument("--skip-floor", action="store_true",
                        help="skip gunicorn with a trivial WSGI app (the server's own ceiling)")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of the in-process 200 and 304 paths")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    try:
        counts = [int(c) for c in args.counts.split(",") if c.strip()]
    except ValueError:
        parser.error("--counts: comma-separated integers")
    args.worker_classes = [w.strip() for w in args.worker_classes.split(",") if w.strip()]
    if not counts or min(counts) < 1 or args.repeat < 1 or not 1 <= args.duration <= 60:
        parser.error("--counts and --repeat must be positive, --duration 1..60 s")
    if not set(args.worker_classes) <= {"sync", "gthread"}:
        parser.error("--worker-classes: sync and/or gthread")

    tools = find_tools()
    missing = [name for name, ok in (("nginx", tools.nginx), ("wrk", tools.wrk),
                                     ("gunicorn", tools.gunicorn),
                                     ("radicale", tools.radicale or args.skip_radicale))
               if not ok]
    if missing:
        print(f"bench/feed.py needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'}"
              f" not installed. Install with:\n\n{INSTALL}\n", file=sys.stderr)
        return 2

    info = machine()
    info.update({
        "icalendar": version_of("icalendar"), "flask": version_of("flask"),
        "werkzeug": version_of("werkzeug"), "sqlalchemy": version_of("sqlalchemy"),
        "gunicorn": version_of("gunicorn"), "radicale": version_of("radicale"),
        "nginx": command_version([tools.nginx, "-v"]).replace("nginx version: ", ""),
        "wrk": command_version([tools.wrk, "--version"]).split(" Copyright")[0],
    })
    print("; ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    busy = cpu_busy()
    info["CPU busy before the run"] = "?" if busy is None else f"{busy:.0%}"
    if busy is not None and busy > 0.1:
        print(f"warning: the CPUs were {busy:.0%} busy before the run: something else is "
              f"running, and the figures will show it", file=sys.stderr, flush=True)

    rows: list[Row] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="calendar-bench-feed-") as tmp:
        for n, count in enumerate(counts):
            args.floor = n == 0 and not args.skip_floor  # the floor does not depend on count
            rows += bench_count(count, args, tools, Path(tmp))
            shutil.rmtree(Path(tmp) / "nginx", ignore_errors=True)
            shutil.rmtree(Path(tmp) / "radicale", ignore_errors=True)
    print_table(f"Feed benchmark (issue 3), {time.monotonic() - started:.0f} s, "
                f"wrk -t2 -c32 -d{args.duration:g}s (radicale: -t1 -c2)", rows)
    busy_after = cpu_busy()
    info["CPU busy after the run"] = "?" if busy_after is None else f"{busy_after:.0%}"
    print(f"CPU busy before the run {info['CPU busy before the run']}, after "
          f"{info['CPU busy after the run']} (other processes; should be near 0 %)")
    missed = [r.measure for r in rows if r.met is False]
    print("\nall targets met" if not missed else "\ntargets missed: " + "; ".join(missed))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "args": sys.argv[1:],
                                         "rows": [asdict(r) for r in rows]},
                                        ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
