"""What watching costs (issue 13, section 3): /readyz and /metrics over a large delivery
ledger, and the request hooks (request id, metrics, one log line) on every request.

- `readyz` and `metrics`: a freshly migrated database with N deliveries (98 % sent, 1.5 %
  pending — a third of them retrying — and 0.5 % failed) and the `tick` and `publish`
  heartbeats; each figure is one GET through the app (Flask's test client: no network),
  the median of R runs. On SQLite (a file, WAL) and, with CALENDAR_TEST_DATABASE_URL, on
  PostgreSQL (a throw-away schema).
- `request`: GET /api/categories (no database) with the log line off (level WARNING), on
  as text, on as JSON (to a null stream): what the hooks and the line cost per request.

    .venv/bin/python bench/monitoring.py [--deliveries 200000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import Figure, postgres_databases, sqlite_databases  # noqa: E402

from calendar_service import logs  # noqa: E402
from calendar_service.app import create_app  # noqa: E402
from calendar_service.app_context import Services  # noqa: E402
from calendar_service.clock import FixedClock  # noqa: E402
from calendar_service.config import Settings  # noqa: E402
from calendar_service.delivery.models import DeliveryRow  # noqa: E402
from calendar_service.store import heartbeat  # noqa: E402

NOW = datetime(2026, 11, 29, 1, 0, tzinfo=timezone.utc)


def fill(db, count: int) -> None:
    table = DeliveryRow.__table__
    rows = []
    for i in range(count):
        bucket = i % 200  # 196 sent, 3 pending (1 retrying), 1 failed in every 200
        status = "sent" if bucket < 196 else "pending" if bucket < 199 else "failed"
        rows.append({
            "kind": "task", "notice_key": f"bench:{i}", "channel": "email" if i % 5 else
            "webhook", "address": f"agency{i % 50}@example.org",
            "due_at": NOW - timedelta(minutes=i), "status": status,
            "attempts": 1 if status == "sent" or bucket == 196 else 0,
            "next_attempt_at": NOW - timedelta(minutes=i), "created_at": NOW,
            "sent_at": NOW if status == "sent" else None})
        if len(rows) == 10_000:
            with db.engine.begin() as conn:
                conn.execute(table.insert(), rows)
            rows = []
    if rows:
        with db.engine.begin() as conn:
            conn.execute(table.insert(), rows)
    with db.session() as session:
        heartbeat.beat(session, "tick", started=NOW, finished=NOW, ok=True,
                       detail={"duration_seconds": 0.2, "sent": 3})
        heartbeat.beat(session, "publish", started=NOW, finished=NOW, ok=True,
                       detail={"duration_seconds": 1.0, "bytes": 10_000_000, "files": 40})
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE deliveries")


def settings(url: str, workdir: Path, **extra: str) -> Settings:
    return Settings.from_env({"CALENDAR_DATABASE_URL": url, "CALENDAR_ENV": "test",
                              "CALENDAR_SECRET_KEY": "bench", "CALENDAR_HOME": str(workdir),
                              **extra}, env_file=None)


def timed(client, path: str, repeat: int, expect: int = 200) -> list[float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        runs.append(time.perf_counter() - start)
        assert response.status_code == expect, (path, response.status_code)
    return runs


def bench_store(backend: str, fresh, workdir: Path, count: int, repeat: int) -> list[Figure]:
    with fresh() as db:
        start = time.perf_counter()
        fill(db, count)
        filled = time.perf_counter() - start
        services = Services(settings(str(db.engine.url.render_as_string(hide_password=False)),
                                     workdir), clock=FixedClock(NOW), _database=db)
        client = create_app(services).test_client()
        client.get("/metrics")  # warm: the migrations' head is read once per process
        note = f"{count:,} deliveries ({filled:.0f} s to insert)"
        return [Figure(f"{backend}: GET /readyz", timed(client, "/readyz", repeat), note=note),
                Figure(f"{backend}: GET /metrics", timed(client, "/metrics", repeat),
                       note=note)]


def bench_requests(workdir: Path, repeat: int) -> list[Figure]:
    figures = []
    url = f"sqlite:///{workdir / 'requests.db'}"
    for label, level, form in (("log off", "WARNING", "text"), ("text line", "INFO", "text"),
                               ("JSON line", "INFO", "json")):
        s = settings(url, workdir, CALENDAR_LOG_LEVEL=level, CALENDAR_LOG_FORMAT=form)
        logs.configure(s, io.StringIO())
        client = create_app(Services(s)).test_client()
        timed(client, "/api/categories", 50)
        runs = []
        for _ in range(repeat):  # each run: 500 requests
            start = time.perf_counter()
            for _ in range(500):
                client.get("/api/categories")
            runs.append((time.perf_counter() - start) / 500)
        figures.append(Figure(f"GET /api/categories, {label}", runs, note="per request"))
    logging.getLogger().handlers.clear()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-monitoring-") as tmp:
        workdir = Path(tmp)
        figures += bench_store("SQLite", sqlite_databases(workdir), workdir, args.deliveries,
                               args.repeat)
        pg = os.environ.get("CALENDAR_TEST_DATABASE_URL")
        if pg:
            figures += bench_store("PostgreSQL", postgres_databases(pg, "bench_monitoring"),
                                   workdir, args.deliveries, args.repeat)
        else:
            print("PostgreSQL skipped: CALENDAR_TEST_DATABASE_URL is not set", file=sys.stderr)
        figures += bench_requests(workdir, max(args.repeat // 3, 5))
    print_ms(figures)
    return 0


def print_ms(figures: list[Figure]) -> None:
    """Milliseconds: these are small figures."""
    rows = [("measure", "median", "min", "max", "")]
    rows += [(f.label, f"{f.median * 1000:.1f} ms", f"{min(f.runs) * 1000:.1f} ms",
              f"{max(f.runs) * 1000:.1f} ms", f.note) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for n, row in enumerate(rows):
        print("  ".join(cell.rjust(w) if 0 < i < 4 else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    sys.exit(main())
