"""The published feed through the shipped nginx site vs bare nginx on the same file (issue 13,
section 5), and the first feed request of a fresh process at 20,000 commemorations.

1. A SQLite store of N synthetic commemorations (bench/feed.py's generator: 1 % cancelled,
   2 % updated), `feed publish` into a directory.
2. nginx with deploy/nginx/ (the map from the query string to the file, try_files with the
   app as fallback, gzip_static, charset, the headers; tests/topology.py templates the paths)
   and, alternately, bare nginx (`location / {}` over the same directory). wrk -t2 -c32 for
   GET /calendar.ics (200, no Accept-Encoding: the plain bytes), GET with If-None-Match (304,
   nginx's own ETag) and GET /calendar.ics?category=victory (200, through the map). Target:
   the site at >= 0.9x bare nginx for 200 and 304.
3. A fresh app process (new Services: empty caches) over the same store with
   CALENDAR_PUBLISH_DIR set: the time of its first GET /calendar.ics (answered with the
   published bytes while it builds in the background) and of a selection never published
   (?alarm=3: a 503 with Retry-After after CALENDAR_FEED_BUILD_WAIT_SECONDS). Target < 1 s.

    .venv/bin/python bench/nginx_feed.py            # --counts 1000 --cold 20000 --duration 5

Needs nginx and wrk (apt-get install nginx wrk).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feed import NGINX_CONF as BARE_CONF  # noqa: E402
from feed import build_store, run_wrk  # noqa: E402

from calendar_service.app import create_app  # noqa: E402
from calendar_service.app_context import Services  # noqa: E402
from calendar_service.config import Settings  # noqa: E402
from calendar_service.feeds.publish import publish  # noqa: E402
from tests.topology import (  # noqa: E402
    HOST,
    find_nginx,
    free_port,
    http,
    nginx_config,
    start_nginx,
)

TARGET = 0.9
ROUNDS = 3  # alternated; the best of each kept (a busy machine only slows things down)
THIS_YEAR = time.gmtime().tm_year
WINDOW_YEARS = range(THIS_YEAR - 1, THIS_YEAR + 3)  # the rolling window's years


def settings(url: str, feeds: Path, workdir: Path, **extra: str) -> Settings:
    return Settings.from_env({
        "CALENDAR_DATABASE_URL": url, "CALENDAR_SECRET_KEY": "bench",
        "CALENDAR_MAIL_URL": f"file://{workdir / 'outbox'}",
        "CALENDAR_PUBLISH_DIR": str(feeds), **extra}, env_file=None)


def bare_nginx(nginx: str, prefix: Path, feeds: Path, port: int):
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    www = prefix / "www"
    if www.exists():
        www.unlink()
    www.symlink_to(feeds)
    conf = prefix / "nginx.conf"
    conf.write_text(BARE_CONF.format(prefix=prefix, host=HOST, port=port,
                                     user="user root;" if os.geteuid() == 0 else ""))
    return start_nginx(nginx, prefix, conf, port)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_nginx(nginx: str, wrk: str, count: int, workdir: Path, duration: float) -> None:
    url = build_store(workdir, count, WINDOW_YEARS)
    feeds = workdir / f"feeds-{count}"
    report = publish(Services(settings(url, feeds, workdir)), feeds)
    assert report.ok, report.error
    size = (feeds / "calendar.ics").stat().st_size
    print(f"\n{count:,} commemorations: {report.summary()}; calendar.ics {size:,} bytes")
    for path in (workdir, feeds, feeds / "calendar"):
        path.chmod(0o755)
    results: dict[tuple[str, str], list[float]] = {}
    for round_ in range(ROUNDS):  # alternate, so that a burst of other work hits both
        for name in ("site", "bare"):
            port = free_port()
            prefix = workdir / f"nginx-{name}"
            if name == "site":
                conf = nginx_config(prefix, port, feeds, f"{HOST}:{free_port()}",
                                    access_log=False)
                server = start_nginx(nginx, prefix, conf, port)
            else:
                server = bare_nginx(nginx, prefix, feeds, port)
            try:
                base = f"http://{HOST}:{port}"
                status, headers, body = http(f"{base}/calendar.ics")
                assert status == 200 and body == (feeds / "calendar.ics").read_bytes(), status
                etag = headers["ETag"]
                assert http(f"{base}/calendar.ics", {"If-None-Match": etag})[0] == 304
                cases = [("200", f"{base}/calendar.ics", None),
                         ("304", f"{base}/calendar.ics", {"If-None-Match": etag})]
                if name == "site":
                    cases.append(("200 ?category=victory",
                                  f"{base}/calendar.ics?category=victory", None))
                for label, target, headers_ in cases:
                    result = run_wrk(wrk, target, duration, 2, 32, headers_)
                    assert result.non_2xx_3xx == 0 and not result.errors, result
                    results.setdefault((name, label), []).append(result.rate)
                    print(f"  round {round_ + 1} {name:4} {label:22} {result.rate:10,.0f} req/s"
                          f"  p50 {result.p50:>8}  p99 {result.p99:>8}  load {load_average()}")
            finally:
                server.stop()
    print(f"\n| {count:,} commemorations ({size / 2**20:.1f} MB) | bare nginx | "
          f"shipped site | site / bare | target |")
    print("|---|---:|---:|---:|---|")
    for label in ("200", "304"):
        bare = max(results[("bare", label)])
        site = max(results[("site", label)])
        ok = "ok" if site / bare >= TARGET else "missed"
        print(f"| GET /calendar.ics, {label} | {bare:,.0f} req/s | {site:,.0f} req/s | "
              f"{site / bare:.2f}x | >= {TARGET}x: {ok} |")
    print(f"| GET /calendar.ics?category=victory, 200 (the map) | | "
          f"{max(results[('site', '200 ?category=victory')]):,.0f} req/s | | |")


def bench_cold(count: int, workdir: Path) -> None:
    url = build_store(workdir, count, WINDOW_YEARS)
    feeds = workdir / f"feeds-{count}"
    started = time.monotonic()
    report = publish(Services(settings(url, feeds, workdir)), feeds)
    assert report.ok, report.error
    print(f"\n{count:,} commemorations: first publish {time.monotonic() - started:.1f} s "
          f"({report.summary()})")
    services = Services(settings(url, feeds, workdir))  # a fresh process: empty caches
    client = create_app(services).test_client()
    for label, path in (("published selection, first request", "/calendar.ics"),
                        ("selection never published, first request", "/calendar.ics?alarm=3")):
        started = time.monotonic()
        response = client.get(path)
        took = time.monotonic() - started
        print(f"| {label} | {response.status_code} | {took:.3f} s | < 1 s: "
              f"{'ok' if took < 1 else 'missed'} | load {load_average()} |")
    started = time.monotonic()
    while client.get("/calendar.ics?alarm=3").status_code != 200:
        time.sleep(0.5)
    print(f"| ?alarm=3 built in the background, answered 200 after | | "
          f"{time.monotonic() - started:.1f} s | | |")
    started = time.monotonic()
    while client.get("/calendar.ics").data != (feeds / "calendar.ics").read_bytes():
        time.sleep(0.5)
    print(f"| the rolling feed's own build (started by the first request, beside ?alarm=3's) "
          f"done, same bytes as published | | {time.monotonic() - started:.1f} s more | | |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1000")
    parser.add_argument("--cold", type=int, default=20_000)
    parser.add_argument("--duration", type=float, default=5)
    args = parser.parse_args(argv)
    nginx, wrk = find_nginx(), shutil.which("wrk")
    if not nginx or not wrk:
        print("needs nginx and wrk: apt-get install nginx wrk", file=sys.stderr)
        return 1
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; "
          f"Python {platform.python_version()}; load average {load_average()}")
    with tempfile.TemporaryDirectory(prefix="nginx-feed-") as tmp:
        workdir = Path(tmp)
        for count in (int(c) for c in args.counts.split(",") if c):
            bench_nginx(nginx, wrk, count, workdir, args.duration)
        if args.cold:
            bench_cold(args.cold, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
