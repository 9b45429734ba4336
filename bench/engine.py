"""Benchmark the anniversary engine and `load` on a synthetic catalogue (issue 2).

A benchmark, not a test: the tests assert behaviour, this script reports how long it takes.
It measures, for --count synthetic commemorations (default 10,000):

1. occurrence generation over ten years (2020-01-01..2029-12-31) with the pure engine;
2. parsing the TOML alone, with tomllib and with the compiled tomli the loader uses;
3. `load`: validating a generated TOML catalogue with `load_catalogue`, then the first sync
   into a fresh SQLite file database and a second, idempotent sync of the same catalogue;
   also against PostgreSQL when CALENDAR_TEST_DATABASE_URL is set (in a dedicated schema
   that is created and dropped here, so nothing else in that database is touched).

Every figure is the median of --repeat runs. The target from issue 2 is under 1 s each for
occurrence generation and for a `load` of 10,000 entries.

Run from the repository root:

    .venv/bin/python bench/engine.py [--count 10000] [--repeat 5]
    CALENDAR_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/engine.py
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import text

from calendar_service.anniversaries import occurrences
from calendar_service.catalogue import Catalogue, load_catalogue
from calendar_service.config import normalise_database_url
from calendar_service.store import Database, sync_catalogue, upgrade
from calendar_service.vietnamese import fold

SEED = 20240507  # fixed, so every run benchmarks exactly the same catalogue
DESIGNATES = 2024
RANGE = (date(2020, 1, 1), date(2029, 12, 31))
TARGET_S = 1.0
PG_ENV = "CALENDAR_TEST_DATABASE_URL"

# Title prefixes, each with the category such an entry would have in a real directive.
KINDS = (
    ("Chiến thắng", "victory"),
    ("Ngày giải phóng", "historic-event"),
    ("Khởi nghĩa", "historic-event"),
    ("Ngày thành lập Đảng bộ", "founding"),
    ("Ngày thành lập Hội Liên hiệp Phụ nữ", "founding"),
    ("Ngày hội truyền thống", "national-day"),
    ("Ngày sinh đồng chí", "birth-anniversary"),
)
PLACES = (
    "Điện Biên Phủ", "Quảng Nam", "Tam Kỳ", "Hội An", "Núi Thành", "Đại Lộc", "Thượng Đức",
    "Duy Xuyên", "Tiên Phước", "Bắc Trà My", "Nông Sơn", "Phú Ninh", "Thăng Bình", "Quế Sơn",
    "Hiệp Đức", "Phước Sơn", "Nam Giang", "Đông Giang", "Tây Giang", "Điện Bàn",
)
PEOPLE = (
    "Trần Phú", "Phan Châu Trinh", "Huỳnh Thúc Kháng", "Trần Cao Vân", "Nguyễn Duy Hiệu",
    "Phan Bội Châu", "Lê Đình Dương", "Hoàng Diệu", "Võ Chí Công", "Phạm Văn Đồng",
    "Nguyễn Văn Trỗi", "Lê Văn Tám", "Trần Thị Lý", "Nguyễn Thị Thứ",
)
ALIASES = ("Chiến dịch mùa Xuân", "Tổng tiến công", "Ngày truyền thống", "Lễ kỷ niệm")

# The share of entries with a year-only origin, and with a 29 February origin.
YEAR_ONLY_SHARE = 0.01
LEAP_DAY_SHARE = 0.005


# --- Synthetic catalogue ---------------------------------------------------------------------


def toml_string(value: str) -> str:
    # A JSON string with ensure_ascii=False is also a valid TOML basic string: same escapes.
    return json.dumps(value, ensure_ascii=False)


def random_origin(rng: random.Random) -> date | int:
    """A day-precision date, sometimes 29 February, sometimes only a year (an int)."""
    roll = rng.random()
    if roll < YEAR_ONLY_SHARE:
        return rng.randint(1880, 1990)
    if roll < YEAR_ONLY_SHARE + LEAP_DAY_SHARE:
        return date(rng.choice(range(1904, 2020, 4)), 2, 29)  # 1900 was not a leap year
    year = rng.randint(1880, 2019)  # strictly before the designated year, as validated
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def synthetic_entry(index: int, rng: random.Random) -> str:
    prefix, category = rng.choice(KINDS)
    subject = rng.choice(PEOPLE if category == "birth-anniversary" else PLACES)
    title = f"{prefix} {subject}"
    # Ids must be unique slugs; the index keeps them unique, the folded title readable.
    ident = f"{'-'.join(fold(title).split())}-{index:05d}"
    origin = random_origin(rng)
    lines = [
        "[[commemoration]]",
        f"id = {toml_string(ident)}",
        f"title = {toml_string(title)}",
        f"category = {toml_string(category)}",
    ]
    if isinstance(origin, date):
        lines.append(f"origin = {origin.isoformat()}")  # a TOML date: no quotes
        when = f"Ngày {origin.day:02d}/{origin.month}/{origin.year}"
        year = origin.year
    else:
        lines.append(f"origin = {origin}")
        when = f"Năm {origin}"
        year = origin
        if rng.random() < 0.5:  # an editor chose the ceremony's day for the designated year
            lines.append(f"observed_on = {date(DESIGNATES, 7, 27).isoformat()}")
    if rng.random() < 0.5:
        lines.append(f"ordinal = {DESIGNATES - year}")
    lines.append(f"location = {toml_string(f'{subject}, tỉnh Quảng Nam')}")
    if rng.random() < 0.1:
        lines.append(f"aliases = [{toml_string(rng.choice(ALIASES) + ' ' + subject)}]")
    if rng.random() < 0.05:
        lines.append("lead_days = [30, 7, 1]")
    description = (f"{when}, {title.lower()}: sự kiện tiêu biểu của quân và dân {subject}, "
                   f"góp phần vào thắng lợi chung của cách mạng Việt Nam.")
    lines.append(f"description = {toml_string(description)}")
    return "\n".join(lines)


def synthetic_catalogue(count: int) -> str:
    rng = random.Random(SEED)
    header = "\n".join((
        "# Synthetic catalogue written by bench/engine.py: not real commemorations.",
        "[catalogue]",
        f"designates = {DESIGNATES}",
        f"directive = {toml_string('Chỉ thị giả lập phục vụ đo hiệu năng')}",
        f"theme = {toml_string('Tuyên truyền các ngày lễ lớn, sự kiện lịch sử (dữ liệu giả lập)')}",
        f"source = {toml_string('bench/engine.py, dữ liệu sinh ngẫu nhiên có hạt giống cố định')}",
    ))
    entries = (synthetic_entry(i, rng) for i in range(count))
    return header + "\n\n" + "\n\n".join(entries) + "\n"


# --- Timing ----------------------------------------------------------------------------------


@dataclass
class Figure:
    label: str
    runs: list[float]
    target: float | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


@contextmanager
def stopwatch(runs: list[float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    runs.append(time.perf_counter() - start)


def bench_engine(catalogue: Catalogue, repeat: int) -> Figure:
    runs: list[float] = []
    produced = 0
    for _ in range(repeat):
        with stopwatch(runs):
            produced = len(occurrences(catalogue.commemorations, *RANGE))
    return Figure(f"occurrences {RANGE[0]}..{RANGE[1]}", runs, TARGET_S,
                  f"{produced:,} occurrences")


def bench_parse(path: Path, repeat: int) -> list[Figure]:
    """TOML parsing alone, with the standard library's tomllib and with the compiled tomli
    the loader prefers (the same parser, built with mypyc): why tomli is a dependency."""
    import tomllib

    import tomli

    text = path.read_text(encoding="utf-8")
    figures = []
    for name, parser in (("tomllib", tomllib), ("tomli", tomli)):
        runs: list[float] = []
        for _ in range(repeat):
            with stopwatch(runs):
                parser.loads(text)
        figures.append(Figure(f"TOML parse only, {name}", runs))
    ratio = figures[0].median / figures[1].median
    figures[1].note = f"{ratio:.1f}x faster than tomllib"
    return figures


def bench_validate(path: Path, repeat: int) -> tuple[Figure, Catalogue]:
    runs: list[float] = []
    catalogue = None
    for _ in range(repeat):
        with stopwatch(runs):
            catalogue = load_catalogue([path])
    assert catalogue is not None
    return Figure("validate (load_catalogue)", runs), catalogue


# Opens a fresh, migrated database and cleans it up afterwards.
DatabaseFactory = Callable[[], AbstractContextManager[Database]]


def bench_load(backend: str, fresh_database: DatabaseFactory, path: Path,
               count: int, repeat: int) -> list[Figure]:
    """Each run: a fresh, upgraded database (not timed), then `load` twice, as the CLI does it:
    validate the files, then sync in one transaction (the commit is timed too)."""
    first, second, load_total, reload_total = [], [], [], []
    for _ in range(repeat):
        with fresh_database() as db:
            for syncs, totals, expect_added in ((first, load_total, count),
                                                (second, reload_total, 0)):
                start = time.perf_counter()
                catalogue = load_catalogue([path])
                validated = time.perf_counter()
                with db.session() as session:
                    report = sync_catalogue(session, catalogue, datetime.now(timezone.utc))
                done = time.perf_counter()
                syncs.append(done - validated)
                totals.append(done - start)
                # Sanity, not behaviour testing: a wrong count would make the figure meaningless.
                if len(report.added) != expect_added or report.unchanged != count - expect_added:
                    raise SystemExit(f"{backend}: unexpected sync result: {report.summary()}")
    return [
        Figure(f"{backend}: first sync", first),
        Figure(f"{backend}: second sync (no change)", second),
        Figure(f"{backend}: load = validate + first sync", load_total, TARGET_S),
        Figure(f"{backend}: reload = validate + second sync", reload_total, TARGET_S),
    ]


def sqlite_databases(workdir: Path) -> DatabaseFactory:
    counter = iter(range(1_000_000))

    @contextmanager
    def fresh() -> Iterator[Database]:
        # A file, not :memory:, so the WAL journal and the commit cost what they cost for real.
        db = Database(f"sqlite:///{workdir / f'bench-{next(counter)}.db'}")
        try:
            upgrade(db.engine)
            yield db
        finally:
            db.dispose()

    return fresh


def postgres_databases(url: str, prefix: str = "bench_engine") -> DatabaseFactory:
    base = normalise_database_url(url)
    separator = "&" if "?" in base else "?"

    @contextmanager
    def fresh() -> Iterator[Database]:
        # A schema of our own, reached through search_path, so the tables (alembic_version
        # included) never collide with whatever else lives in this database.
        schema = f"{prefix}_{os.getpid()}"
        admin = Database(base)
        db = None
        try:
            with admin.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            db = Database(f"{base}{separator}options=-csearch_path%3D{schema}")
            upgrade(db.engine)
            yield db
        finally:
            if db is not None:
                db.dispose()
            with admin.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()

    return fresh


# --- Report ----------------------------------------------------------------------------------


def print_table(figures: list[Figure]) -> None:
    header = ("measure", "median", "min", "max", "target", "", "")
    rows = [header]
    for f in figures:
        rows.append((
            f.label,
            f"{f.median:.3f} s",
            f"{min(f.runs):.3f} s",
            f"{max(f.runs):.3f} s",
            "" if f.target is None else f"< {f.target:g} s",
            "" if f.target is None else ("ok" if f.median < f.target else "MISSED"),
            f.note,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    numeric = range(1, 5)  # right-aligned, so the decimal points line up
    for n, row in enumerate(rows):
        print("  ".join(cell.rjust(w) if i in numeric else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000,
                        help="synthetic commemorations (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs per figure; the median is reported (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.repeat < 1:
        parser.error("--count and --repeat must be positive")

    with tempfile.TemporaryDirectory(prefix="calendar-bench-") as tmp:
        workdir = Path(tmp)
        path = workdir / "synthetic.toml"
        path.write_text(synthetic_catalogue(args.count), encoding="utf-8")
        size_kib = path.stat().st_size / 1024

        validate, catalogue = bench_validate(path, args.repeat)
        year_only = sum(1 for c in catalogue.commemorations if c.origin_month is None)
        leap_day = sum(1 for c in catalogue.commemorations
                       if (c.origin_month, c.origin_day) == (2, 29))
        print(f"{args.count:,} synthetic commemorations ({size_kib:,.0f} KiB of TOML; "
              f"{year_only} year-only origins, {leap_day} on 29 February), "
              f"median of {args.repeat} run{'s' if args.repeat > 1 else ''} each\n")

        engine = bench_engine(catalogue, args.repeat)
        figures = [engine, *bench_parse(path, args.repeat), validate]
        figures += bench_load("SQLite", sqlite_databases(workdir), path,
                              args.count, args.repeat)
        pg_url = os.environ.get(PG_ENV)
        if pg_url:
            figures += bench_load("PostgreSQL", postgres_databases(pg_url), path,
                                  args.count, args.repeat)
        print_table(figures)
        if not pg_url:
            print(f"\nPostgreSQL skipped: set {PG_ENV} to measure it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
