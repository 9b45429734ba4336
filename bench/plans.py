"""Benchmark plan generation and the year's follow-up report (issue 10).

A benchmark, not a test: the tests assert behaviour, this script reports how long it takes.
The data: --count synthetic commemorations (default 1,000; bench/engine.py's seeded
generator, one [catalogue] designating 2024), the shipped events/agencies.toml (eight
agencies), and a plan template file written here that gives every occurrence exactly eight
activities, one per agency — so the year has exactly 8 × count tasks (the shipped
events/plans.toml selects by category and round year, and names commemorations of
events/2024.toml, so it cannot be used with a synthetic catalogue).

Each run, on a fresh database (SQLite file; PostgreSQL too when CALENDAR_TEST_DATABASE_URL
is set, in a schema this script creates and drops), untimed: migrate, load. Then timed:
1. `plans generate` for the year, as the command does it (one transaction, commit
   included): the first run (8 × count added), then a second, idempotent one (all
   unchanged);
then, untimed, a realistic state: 40 % of the tasks done with a result link, 10 % in
progress, 2 % cancelled; then timed:
2. the year's report: `build_report` (the store read), then each renderer on it;
3. pages (PAGES below), through Flask's test client with a logged-in account, after one
   untimed request, PAGE_REQUESTS times each: the report page and the plan grid (whose p95
   has a target).

Every figure is the median of --repeat runs. Targets (issue 10): generate < 2 s; the
year's report < 1 s (build + the slowest renderer, XLSX); the plan grid's p95 < 100 ms.

Run from the repository root:

    .venv/bin/python bench/plans.py [--count 1000] [--repeat 5] [--profile]
    CALENDAR_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/plans.py
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from engine import (
    DESIGNATES,
    DatabaseFactory,
    Figure,
    postgres_databases,
    print_table,
    sqlite_databases,
    synthetic_catalogue,
    toml_string,
)
from sqlalchemy import select, update

from calendar_service.admin import accounts
from calendar_service.app import create_app
from calendar_service.app_context import Services
from calendar_service.catalogue import load_catalogue
from calendar_service.clock import FixedClock
from calendar_service.config import Settings
from calendar_service.plans.generate import generate
from calendar_service.plans.models import TaskRow
from calendar_service.plans.report import FORMATS, Report, build_report
from calendar_service.store import Database, sync_catalogue

ROOT = Path(__file__).resolve().parents[1]
AGENCIES = ROOT / "events" / "agencies.toml"
PG_ENV = "CALENDAR_TEST_DATABASE_URL"
GENERATE_TARGET_S, REPORT_TARGET_S = 2.0, 1.0
GENERATED_AT = datetime.fromisoformat("2024-01-02T08:00:00+07:00")
AS_OF = datetime.fromisoformat("2024-07-01T08:00:00+07:00")  # half the year's tasks are due
PASSWORD = "mật khẩu đo hiệu năng 2024"

# (kind, agency, due, window): one activity for each of the eight agencies.
ACTIVITIES = (
    ("huong-dan", "ban-tuyen-giao", -60, None),
    ("huong-dan", "so-tttt", -30, None),
    ("bai-viet", "bao-quang-nam", -7, (-30, 0)),
    ("pt-th", "dai-pt-th", -1, (-7, 0)),
    ("tin-bai-cong", "cong-ttdt", 0, (-7, 1)),
    ("le-ky-niem", "so-vhttdl", 0, None),
    ("bao-cao", "hd-tdkt", 15, None),
    ("bao-cao", "so-noi-vu", 30, None),
)
TITLES = {"huong-dan": "Hướng dẫn tuyên truyền {occurrence}", "bai-viet": "Loạt bài {occurrence}",
          "pt-th": "Phóng sự {occurrence}", "tin-bai-cong": "Tin bài {occurrence}",
          "le-ky-niem": "Lễ {occurrence}", "bao-cao": "Báo cáo kết quả {occurrence}"}

# Pages timed after the report: (label, path). The plan grid's page goes here too.
PAGES: list[tuple[str, str]] = [
    ("page /admin/reports/<Y>", "/admin/reports/{year}"),
    ("page /admin/plans/<Y> (the grid)", "/admin/plans/{year}"),
]
PAGE_REQUESTS = 20  # per page and run: the p95 is taken over all of them
GRID_TARGET_S = 0.1  # issue 10: the plan grid's p95 under 100 ms at this size


def plan_templates() -> str:
    lines = ["# Written by bench/plans.py: eight activities for every occurrence.",
             "[[template]]", 'id = "do-hieu-nang"', f"name = {toml_string('Mẫu đo hiệu năng')}"]
    for kind, agency, due, window in ACTIVITIES:
        lines += ["", "[[template.activity]]", f'kind = "{kind}"',
                  f"title = {toml_string(TITLES[kind])}", f'agency = "{agency}"', f"due = {due}"]
        if window is not None:
            lines += [f"from = {window[0]}", f"to = {window[1]}"]
    return "\n".join(lines) + "\n"


@dataclass
class Run:
    """One database, loaded: what the timed steps need."""

    database: Database
    workdir: Path
    year: int
    report: Report | None = None
    _client: object = None

    def services(self, at: datetime) -> Services:
        settings = Settings.from_env({
            "CALENDAR_DATABASE_URL": self.database.engine.url.render_as_string(
                hide_password=False),
            "CALENDAR_SECRET_KEY": "bench", "CALENDAR_ENV": "test",
            "CALENDAR_HOME": str(self.workdir)}, env_file=None)
        return Services(settings, clock=FixedClock(at), _database=self.database)

    def client(self):
        """A logged-in test client (created once per run, untimed)."""
        if self._client is None:
            services = self.services(AS_OF)
            with self.database.session() as session:
                accounts.create_user(session, "bench", PASSWORD, services.clock.now())
            app = create_app(services)
            client = app.test_client()
            page = client.get("/admin/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            answer = client.post("/admin/login", data={
                "csrf_token": token, "username": "bench", "password": PASSWORD, "next": ""})
            assert answer.status_code == 302, answer.status_code
            self._client = client
        return self._client


@dataclass
class Timings:
    runs: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def timed(self, label: str, step, *args):
        start = time.perf_counter()
        result = step(*args)
        self.runs[label].append(time.perf_counter() - start)
        return result


def run_generate(database: Database, year: int):
    with database.sessions() as session, session.begin():
        return generate(session, year, GENERATED_AT)


def work_on_tasks(database: Database, year: int) -> None:
    """Untimed: 40 % done with a link, 10 % in progress, 2 % cancelled (by id, so the same
    tasks every run)."""
    with database.session() as session:
        ids = session.scalars(select(TaskRow.id).where(TaskRow.year == year)
                              .order_by(TaskRow.id)).all()
        changes = []
        for n, ident in enumerate(ids):
            if n % 50 == 49:
                changes.append({"id": ident, "status": "cancelled"})
            elif n % 10 < 4:
                changes.append({"id": ident, "status": "done", "done_at": AS_OF,
                                "links": [f"https://baoquangnam.vn/tin-bai-{ident}.html"]})
            elif n % 10 == 4:
                changes.append({"id": ident, "status": "in_progress"})
        session.execute(update(TaskRow), changes)


def run_report(database: Database, year: int) -> Report:
    with database.session() as session:
        return build_report(session, year, AS_OF, AS_OF.tzinfo)


def bench_backend(backend: str, fresh: DatabaseFactory, files: list[Path], count: int,
                  repeat: int, workdir: Path) -> list[Figure]:
    expected = count * len(ACTIVITIES)
    t = Timings()
    sizes: dict[str, int] = {}
    for _ in range(repeat):
        with fresh() as database:
            with database.session() as session:
                sync_catalogue(session, load_catalogue(files), GENERATED_AT)
            first = t.timed("generate, first run", run_generate, database, DESIGNATES)
            second = t.timed("generate, second run", run_generate, database, DESIGNATES)
            # Sanity, not behaviour testing: a wrong count would make the figure meaningless.
            if len(first.added) != expected or second.unchanged != expected:
                raise SystemExit(f"{backend}: unexpected generation: {first.summary()} / "
                                 f"{second.summary()}")
            work_on_tasks(database, DESIGNATES)
            report = t.timed("report: build", run_report, database, DESIGNATES)
            if report.total.tasks != expected:
                raise SystemExit(f"{backend}: the report counts {report.total.tasks} tasks")
            for name, fmt in FORMATS.items():
                t.timed(f"report: render {name}", fmt.body, report)
            t.runs["report: build + render xlsx"].append(
                t.runs["report: build"][-1] + t.runs["report: render xlsx"][-1])
            run = Run(database, workdir, DESIGNATES)
            for label, path in PAGES:
                url = path.format(year=DESIGNATES)
                run.client().get(url)  # templates compiled, caches warm
                for _ in range(PAGE_REQUESTS):
                    answer = t.timed(label, run.client().get, url)
                    if answer.status_code != 200:
                        raise SystemExit(f"{backend}: {url} answered {answer.status_code}")
                sizes[label] = len(answer.data)
    notes = {"generate, first run": f"{expected:,} tasks added",
             "generate, second run": f"{expected:,} unchanged",
             "report: build": f"{len(report.links):,} result links",
             "report: render xlsx": f"{len(FORMATS['xlsx'].body(report)):,} bytes"}
    targets = {"generate, first run": GENERATE_TARGET_S, "generate, second run": GENERATE_TARGET_S,
               "report: build": REPORT_TARGET_S,
               "report: build + render xlsx": REPORT_TARGET_S}
    for label, _ in PAGES:
        notes[label] = f"{PAGE_REQUESTS} requests a run; {sizes[label]:,} bytes"
    figures = [Figure(f"{backend}: {label}", runs, targets.get(label), notes.get(label, ""))
               for label, runs in t.runs.items()]
    grid = sorted(t.runs["page /admin/plans/<Y> (the grid)"])
    p95 = grid[max(0, round(0.95 * len(grid)) - 1)]
    figures.append(Figure(f"{backend}: the grid's p95", [p95], GRID_TARGET_S,
                          f"over {len(grid)} requests"))
    return figures


def profile(fresh: DatabaseFactory, files: list[Path]) -> None:
    """cProfile of one first generation and one report build (SQLite)."""
    with fresh() as database:
        with database.session() as session:
            sync_catalogue(session, load_catalogue(files), GENERATED_AT)
        for label, step in (("generate, first run", run_generate),
                            ("generate, second run", run_generate),
                            ("report: build", run_report)):
            if label == "report: build":
                work_on_tasks(database, DESIGNATES)
            profiler = cProfile.Profile()
            profiler.runcall(step, database, DESIGNATES)
            print(f"\n--- {label} ---")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000,
                        help="synthetic commemorations (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs per figure; the median is reported (default: %(default)s)")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of generation and the report build instead")
    args = parser.parse_args(argv)
    if args.count < 1 or args.repeat < 1:
        parser.error("--count and --repeat must be positive")

    with tempfile.TemporaryDirectory(prefix="calendar-bench-plans-") as tmp:
        workdir = Path(tmp)
        catalogue = workdir / "synthetic.toml"
        catalogue.write_text(synthetic_catalogue(args.count), encoding="utf-8")
        templates = workdir / "plans.toml"
        templates.write_text(plan_templates(), encoding="utf-8")
        files = [catalogue, AGENCIES, templates]
        if args.profile:
            profile(sqlite_databases(workdir), files)
            return 0
        print(f"{args.count:,} synthetic commemorations designated for {DESIGNATES} × "
              f"{len(ACTIVITIES)} agencies = {args.count * len(ACTIVITIES):,} tasks; report "
              f"as of {AS_OF:%Y-%m-%d %H:%M %z}; median of {args.repeat} "
              f"run{'s' if args.repeat > 1 else ''} each\n")
        figures = bench_backend("SQLite", sqlite_databases(workdir), files, args.count,
                                args.repeat, workdir)
        pg_url = os.environ.get(PG_ENV)
        if pg_url:
            figures += bench_backend("PostgreSQL", postgres_databases(pg_url, "bench_plans"),
                                     files, args.count, args.repeat, workdir)
        print_table(figures)
        if not pg_url:
            print(f"\nPostgreSQL skipped: set {PG_ENV} to measure it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
