"""The production topology of deploy/, brought up on this machine: PostgreSQL (a fresh
schema), gunicorn with 2 workers (deploy/gunicorn.conf.py), 2 scheduler processes publishing
the feeds, nginx with the shipped locations (tests/topology.py) — and an aiosmtpd sink for
the mail. Also `systemd-analyze verify` on the units and `nginx -t` on the TLS site."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from calendar_service.anniversaries import next_dated_occurrence
from calendar_service.catalogue import load_catalogue
from tests.conftest import EVENTS_2024
from tests.smtp_sink import SMTPSink
from tests.topology import (
    BIN,
    DEPLOY,
    HOST,
    Server,
    find_nginx,
    free_port,
    http,
    nginx_config,
    start_gunicorn,
    start_nginx,
    wait_until,
)

NGINX = find_nginx()
TICK = 1.0  # CALENDAR_TICK_SECONDS in this test
TZ = ZoneInfo("Asia/Ho_Chi_Minh")

needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed "
                                 "(apt-get install nginx-light; .ci/run installs it)")


def unfolded(data: bytes) -> str:
    return data.decode().replace("\r\n ", "")


def due_reminders(today) -> tuple[int, list[str]]:
    """A lead time that makes reminders due today: the days to the catalogue's next dated
    occurrence, and the commemorations that fall on that day."""
    found = [(occ.date, occ.commemoration.id) for c in load_catalogue([EVENTS_2024]).commemorations
             if (occ := next_dated_occurrence(c, today)) is not None and occ.date > today]
    first = min(day for day, _ in found)
    return (first - today).days, sorted(ident for day, ident in found if day == first)


@pytest.fixture
def topology(pg_url, tmp_path):
    missing = [name for name, ok in (("nginx", NGINX),
                                     ("gunicorn", (BIN / "gunicorn").exists())) if not ok]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed: the topology cannot be run")
    feeds = tmp_path / "feeds"
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "metrics").mkdir()  # the units' StateDirectory=…/metrics
    for path in (tmp_path, home):
        path.chmod(0o755)  # nginx's workers read the feeds
    nginx_port, app_port = free_port(), free_port()
    sink = SMTPSink().start()
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
        "CALENDAR_ENV": "production",
        "CALENDAR_SECRET_KEY": "topology-test-secret-key-0123456789abcdef",
        "CALENDAR_DATABASE_URL": pg_url,
        "CALENDAR_BASE_URL": f"http://{HOST}:{nginx_port}",
        "CALENDAR_PUBLISH_DIR": str(feeds),
        "CALENDAR_HOME": str(home),
        "CALENDAR_TICK_SECONDS": str(TICK),
        "CALENDAR_MAIL_URL": sink.url,
        "CALENDAR_REMINDER_TIME": "00:00",  # whatever the hour, today's reminders are due
        "CALENDAR_TRUSTED_PROXIES": "1",
        "CALENDAR_EVENTS": str(EVENTS_2024),
        # /metrics adds up the workers and the schedulers (deploy/gunicorn.conf.py's hooks).
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }

    def run(*args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run([str(BIN / "calendar-service"), *args], env={**env, **(extra or {})},
                              cwd=home, capture_output=True, timeout=300)
        assert done.returncode == 0, (args, done.stderr.decode())
        return done

    run("db", "upgrade")
    run("load", str(EVENTS_2024))
    today = datetime.now(TZ).date()
    lead, due = due_reminders(today)
    run("subscribers", "add", "bien-tap@example.org", "--name", "Phòng Biên tập",
        "--scope", "all", "--lead-days", str(lead))

    servers: list[Server] = []
    try:
        servers.append(start_gunicorn(env, app_port, 2, tmp_path / "gunicorn.log"))
        for n in (1, 2):
            servers.append(Server(f"scheduler {n}", [str(BIN / "calendar-service"), "scheduler"],
                                  tmp_path / f"scheduler{n}.log", env=env, cwd=home))
        prefix = tmp_path / "nginx"
        conf = nginx_config(prefix, nginx_port, feeds, f"{HOST}:{app_port}")
        servers.append(start_nginx(NGINX, prefix, conf, nginx_port))
        yield {"url": f"http://{HOST}:{nginx_port}", "feeds": feeds, "run": run, "sink": sink,
               "due": due, "servers": servers, "tmp": tmp_path}
    finally:
        for server in reversed(servers):
            server.stop()
        sink.stop()


@needs_nginx
def test_the_topology_serves_publishes_and_reminds_once(topology):
    url, feeds, run, sink = (topology[k] for k in ("url", "feeds", "run", "sink"))
    servers = topology["servers"]

    # Pages and the API, through nginx to gunicorn.
    status, headers, body = http(f"{url}/")
    assert status == 200 and "Lịch kỷ niệm" in body.decode()
    assert "Content-Security-Policy" in headers  # the app answered
    status, _, body = http(f"{url}/api/events?from=2024-05-01&to=2024-05-31")
    assert status == 200
    assert "dien-bien-phu" in {item["id"] for item in json.loads(body)["items"]}
    assert http(f"{url}/year/2024")[0] == 200

    # The schedulers publish; nginx serves the files: the same bytes `feed` writes.
    wait_until(lambda: (feeds / "calendar.ics").exists(), 60, "waiting for a publish", *servers)
    status, headers, body = http(f"{url}/calendar.ics")
    assert status == 200 and body == run("feed").stdout
    assert "Content-Security-Policy" not in headers  # nginx answered, not the app
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert headers["Cache-Control"] == "public, max-age=900"
    etag = headers["ETag"]
    status, headers, _ = http(f"{url}/calendar.ics", {"If-None-Match": etag})
    assert status == 304 and headers["ETag"] == etag
    status, headers, zipped = http(f"{url}/calendar.ics", {"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped) == body
    assert http(f"{url}/calendar.ics", {"Accept-Encoding": "gzip",
                                        "If-None-Match": headers["ETag"]})[0] == 304
    for args, selection in (("category=victory", ("--category", "victory")),
                            ("designated=1", ("--designated",)),
                            ("year=2024", ("--year", "2024"))):
        status, headers, got = http(f"{url}/calendar.ics?{args}")
        assert status == 200 and "Content-Security-Policy" not in headers, args
        assert got == run("feed", *selection).stdout, args
    status, headers, got = http(f"{url}/events/dien-bien-phu.ics")
    assert status == 200 and "Content-Security-Policy" not in headers
    assert headers["Content-Disposition"] == "attachment"
    assert "BEGIN:VEVENT" in got.decode()
    # Not published (an alarm; an unusual spelling): the app answers, with the same bytes.
    status, headers, got = http(f"{url}/calendar.ics?alarm=3")
    assert status == 200 and "Content-Security-Policy" in headers
    assert got == run("feed", "--alarm", "3").stdout
    status, headers, got = http(f"{url}/calendar.ics?designated=true")
    assert status == 200 and "Content-Security-Policy" in headers
    assert got == run("feed", "--designated").stdout
    assert http(f"{url}/calendar.ics?year=../../etc/passwd")[0] == 400  # the app's answer
    assert http(f"{url}/events/khong-co.ics")[0] == 404

    # A load that changes an entry (this `load` publishes to another folder, not the one
    # nginx serves): the schedulers' next tick publishes it.
    changed = topology["tmp"] / "2024.toml"
    changed.write_text(EVENTS_2024.read_text().replace(
        "chiến dịch Điện Biên Phủ toàn thắng", "chiến dịch Điện Biên Phủ (đã sửa) toàn thắng"))
    before = http(f"{url}/calendar.ics")[2]
    run("load", str(changed), extra={"CALENDAR_PUBLISH_DIR": str(topology["tmp"] / "other")})
    loaded_at = time.monotonic()
    after = wait_until(lambda: (got := http(f"{url}/calendar.ics")[2]) != before and got,
                       30, "waiting for the change to be published", *servers)
    waited = time.monotonic() - loaded_at
    report = json.loads((feeds / ".publish.json").read_text())
    assert report["ok"]  # (the other scheduler may have found nothing left to write)
    # Within one tick: at most a tick's wait, then that publish's own time (and a margin
    # for a machine shared with other work).
    assert waited <= TICK + report["seconds"] + 3, (waited, report)
    assert "(đã sửa)" in unfolded(after) and after == run("feed").stdout
    assert http(f"{url}/calendar.ics", {"If-None-Match": etag})[0] == 200

    # Readiness and metrics, through nginx from this machine (the only one nginx lets in).
    status, _, body = http(f"{url}/readyz")
    checks = {c["name"]: c["status"] for c in json.loads(body)["checks"]}
    assert status == 200 and checks == {"database": "ok", "migrations": "ok",
                                        "scheduler": "ok", "publish": "ok"}, body
    status, _, body = http(f"{url}/metrics")
    text = body.decode()
    assert status == 200 and 'calendar_http_requests_total{' in text
    assert 'calendar_job_ok{name="publish"} 1.0' in text, text[-2000:]
    assert 'calendar_job_ok{name="tick"} 1.0' in text

    # Reminders: once each, however many schedulers tick.
    due = topology["due"]
    wait_until(lambda: len(sink.received) >= len(due), 60, "waiting for the reminders",
               *servers)
    time.sleep(5 * TICK)  # more ticks of both schedulers: nothing more may come
    ids = [r.message["Message-ID"] for r in sink.received]
    assert len(ids) == len(set(ids)) == len(due), [r.message["Subject"] for r in sink.received]
    assert all(r.rcpt_tos == ["bien-tap@example.org"] for r in sink.received)
    for server in servers:
        assert server.alive(), server.tail()


UNITS = ("calendar-service-web.service", "calendar-service-scheduler.service")


@pytest.mark.parametrize("unit", UNITS)
def test_the_systemd_units_verify(unit, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (package systemd)")
    # The executables at the paths deploy/README.md installs them to: this venv's here.
    text = (DEPLOY / "systemd" / unit).read_text().replace(
        "/opt/calendar-service/venv/bin", str(BIN))
    (tmp_path / unit).write_text(text)
    done = subprocess.run([analyze, "verify", str(tmp_path / unit)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"})
    # verify only warns about unknown keys and bad values: any line naming the unit fails.
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if unit in line]
    assert done.returncode == 0 and not complaints, done.stdout + done.stderr
    for key in ("ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
                "ReadWritePaths=/var/lib/calendar-service", "User=calendar",
                "EnvironmentFile=/etc/calendar-service/calendar-service.env"):
        assert key in text, key


@needs_nginx
def test_the_tls_site_file_passes_nginx_t(tmp_path):
    """The whole site, TLS server included, with a throwaway certificate in place of
    Let's Encrypt's (trustme), as `nginx -t` checks it."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("lich.example.gov.vn")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "chain.pem"))
    prefix = tmp_path / "nginx"
    conf = nginx_config(prefix, free_port(), tmp_path / "feeds", "127.0.0.1:8000")
    site = (DEPLOY / "nginx" / "calendar-service-site.conf").read_text()
    site = (site.replace("/etc/letsencrypt/live/lich.example.gov.vn/fullchain.pem",
                         str(tmp_path / "chain.pem"))
            .replace("/etc/letsencrypt/live/lich.example.gov.vn/privkey.pem",
                     str(tmp_path / "chain.pem"))
            .replace("/etc/nginx/snippets/", f"{prefix}/")
            .replace("/var/log/nginx/", f"{prefix}/")
            .replace("listen 80;", f"listen {HOST}:{free_port()};")
            .replace("listen [::]:80;", "")
            .replace("listen 443 ssl http2;", f"listen {HOST}:{free_port()} ssl http2;")
            .replace("listen [::]:443 ssl http2;", ""))
    (prefix / "site.conf").write_text(site)
    text = conf.read_text()
    conf.write_text(text[:text.rindex("}")] + f"include {prefix}/site.conf;\n}}\n")
    done = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(conf), "-e",
                           str(prefix / "error.log")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "[warn]" not in done.stderr.replace("the \"listen ... http2\" directive is deprecated",
                                               ""), done.stderr
