"""Benchmark the web pages and the API through gunicorn on loopback (issue 5).

A benchmark, not a test: it reports latencies, it asserts nothing. For 1,000 and 20,000
synthetic commemorations (bench/engine.py's seeded generator; 20,000 is about every
province's catalogue in one national instance) it loads a fresh SQLite database, starts
`gunicorn -w 2 calendar_service.wsgi:app` on 127.0.0.1, times the first requests to each URL, warms it, then times
sequential requests from this process (another process than the server) and reports the
median and the 95th percentile, and the slower of the first two requests (each worker's
caches cold: what a visitor waits right after a data change).

Targets (issue 5): `/` and `/api/events` (paged) p95 under 50 ms at 20,000;
`/year/2024` p95 under 200 ms at 1,000.

    .venv/bin/pip install gunicorn        # or: .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/web.py [--counts 1000,20000] [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import synthetic_catalogue  # noqa: E402  (the same seeded catalogue)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGETS = {  # (count, path) -> p95 target in ms
    (20000, "/"): 50, (20000, "/api/events"): 50, (1000, "/year/2024"): 200,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(count: int, workdir: Path) -> dict[str, str]:
    catalogue = workdir / f"catalogue-{count}.toml"
    catalogue.write_text(synthetic_catalogue(count), encoding="utf-8")
    env = {**os.environ, "CALENDAR_DATABASE_URL": f"sqlite:///{workdir / f'web-{count}.db'}",
           "CALENDAR_EVENTS": str(catalogue), "CALENDAR_SECRET_KEY": "bench-web-not-a-secret",
           "CALENDAR_MAIL_URL": f"file://{workdir / 'outbox'}"}
    for args in (["db", "upgrade"], ["load"]):
        subprocess.run([str(BIN / "calendar-service"), *args], env=env, check=True,
                       capture_output=True, cwd=workdir)
    return env


def first_event_id(base: str) -> str:
    items = requests.get(f"{base}/api/events?from=2024-05-01&per_page=1", timeout=30).json()
    return items["items"][0]["id"]


def measure(session: requests.Session, url: str, n: int) -> list[float]:
    timings = []
    for _ in range(n):
        t = time.perf_counter()
        response = session.get(url, timeout=30)
        response.content  # noqa: B018 - read the whole body
        timings.append((time.perf_counter() - t) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return timings


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def run(count: int, n: int, workdir: Path) -> list[tuple]:
    env = prepare(count, workdir)
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "calendar_service.wsgi:app"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start: " + server.stderr.read().decode())
                time.sleep(0.1)
        paths = ["/", "/?from=2024-04-20", "/year/2024", f"/events/{first_event_id(base)}",
                 "/api/events", "/api/events?from=2024-01-01&to=2024-12-31&category=victory"]
        session = requests.Session()
        for path in paths:
            # The first two requests meet each worker's cold caches (the year's occurrences,
            # the templates): the slower of them is what a visitor waits after a data change.
            cold = max(measure(session, base + path, 2))
            measure(session, base + path, 10)  # warm both workers
            timings = measure(session, base + path, n)
            size = len(session.get(base + path, timeout=30).content)
            rows.append((count, path, cold, statistics.median(timings), p95(timings), size,
                         TARGETS.get((count, path.split("?")[0] if path.startswith("/api")
                                      else path))))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="1000,20000")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    if not (BIN / "gunicorn").exists():
        print("gunicorn is not installed: .venv/bin/pip install gunicorn", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    rows = []
    try:
        for count in (int(c) for c in args.counts.split(",")):
            rows += run(count, args.requests, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · {args.requests} sequential "
          "requests per URL, gunicorn -w 2 on 127.0.0.1")
    print(f"{'commemorations':>14}  {'path':<58} {'cold':>8} {'median':>8} {'p95':>8} "
          f"{'bytes':>9}  target")
    for count, path, cold, median, high, size, target in rows:
        verdict = "" if target is None else (
            f"p95 < {target} ms: {'ok' if high < target else 'MISSED'}")
        print(f"{count:>14,}  {path:<58} {cold:7.1f}ms {median:7.1f}ms {high:7.1f}ms "
              f"{size:>9,}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
