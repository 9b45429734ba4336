"""Watching the service (issue 13, section 3): /readyz and each of its failures, /metrics
(parsed with prometheus-client's own parser; counters that move with requests and real
deliveries; token and loopback protection), the request and tick log lines (JSON, secrets
redacted), the settings that govern them — on both databases where the database matters."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from alembic.script import ScriptDirectory
from prometheus_client.parser import text_string_to_metric_families

from calendar_service import logs
from calendar_service.app import create_app
from calendar_service.app_context import Services
from calendar_service.catalogue import load_catalogue
from calendar_service.config import ConfigError, Settings
from calendar_service.ops import readiness
from calendar_service.reminders import subscribers as subs
from calendar_service.reminders.scheduler import tick_job
from calendar_service.reminders.tick import run_tick
from calendar_service.store import Database, heartbeat, sync_catalogue
from calendar_service.store.migrate import alembic_config, upgrade
from tests.conftest import EVENTS_2024, NOW, make_settings
from tests.smtp_sink import SMTPSink, free_port

TOKEN = "s3cret-metrics-token-0123456789"


def make_app(services: Services):
    app = create_app(services)
    app.testing = True
    return app


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of an exposition, by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=")
    return samples(response.get_data(as_text=True))


def value(found, metric: str, **labels: str) -> float:
    return found.get((metric, tuple(sorted(labels.items()))), 0.0)


def checks(response) -> dict[str, dict]:
    body = response.get_json()
    return {c["name"]: c for c in body["checks"]}


@pytest.fixture
def watched(loaded):
    """The loaded store with one scheduler tick recorded at the test's moment."""
    assert tick_job(loaded) is not None
    return loaded


# --- /readyz --------------------------------------------------------------------------

def test_ready_when_everything_is_in_order(watched):
    response = make_app(watched).test_client().get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == "ready"
    assert [c["name"] for c in body["checks"]] == ["database", "migrations", "scheduler",
                                                   "publish"]
    found = checks(response)
    assert found["migrations"]["status"] == "ok"
    assert readiness.code_heads()[0] in found["migrations"]["detail"]
    assert found["scheduler"]["status"] == "ok" and "(0 s ago)" in found["scheduler"]["detail"]
    assert found["publish"] == {"name": "publish", "status": "skipped",
                                "detail": "publishing is not configured"}


def test_not_ready_when_the_database_does_not_answer(db_url, tmp_path, clock):
    if db_url.startswith("sqlite"):
        broken = tmp_path / "broken.db"
        broken.write_bytes(b"this is not a database file " * 100)
        url = f"sqlite:///{broken}"
    else:
        url = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"
    services = Services(make_settings(url, tmp_path), clock=clock, _database=Database(url))
    response = make_app(services).test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    found = checks(response)
    assert found["database"]["status"] == "failed"
    assert found["database"]["detail"].startswith("does not answer (")
    assert found["migrations"]["status"] == found["scheduler"]["status"] == "failed"
    # Nothing about where the database lives: no host, port or file name.
    text = response.get_data(as_text=True)
    assert "127.0.0.1" not in text and "broken.db" not in text and "postgres@" not in text
    # /metrics still answers, and says so.
    found = scrape(make_app(services).test_client())
    assert value(found, "calendar_ready") == 0.0
    assert value(found, "calendar_ready_check", check="database") == 0.0
    assert ("calendar_deliveries_pending", (("channel", "email"),)) not in found


def test_not_ready_when_the_migrations_are_behind(db_url, tmp_path, clock):
    script = ScriptDirectory.from_config(alembic_config(None))
    (head,) = script.get_heads()
    behind = script.get_revision(head).down_revision
    database = Database(db_url)
    upgrade(database.engine, behind)
    services = Services(make_settings(db_url, tmp_path), clock=clock, _database=database)
    client = make_app(services).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    found = checks(response)
    assert found["database"]["status"] == "ok"
    assert found["migrations"]["status"] == "failed"
    assert found["migrations"]["detail"] == (
        f"the database is at {behind}, the code expects {head}; run `calendar-service db "
        "upgrade`")
    upgrade(database.engine)
    assert checks(client.get("/readyz"))["migrations"]["status"] == "ok"
    database.dispose()


def test_not_ready_before_the_heartbeats_table(db_url, tmp_path, clock):
    """A database migrated to before the heartbeats (0008): each check answers, none fails
    with a 500."""
    database = Database(db_url)
    upgrade(database.engine, "0007")
    services = Services(make_settings(db_url, tmp_path), clock=clock, _database=database)
    client = make_app(services).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    found = checks(response)
    assert found["database"]["status"] == "ok"
    assert found["migrations"]["detail"].startswith("the database is at 0007")
    assert found["scheduler"]["detail"].startswith("no tick recorded yet")
    assert value(scrape(client), "calendar_ready") == 0.0
    database.dispose()


def test_not_ready_when_the_last_tick_is_stale(watched, clock):
    client = make_app(watched).test_client()
    limit = timedelta(minutes=watched.settings.reminder_tick_minutes * readiness.STALE_TICKS)
    clock.at = NOW + limit  # exactly 3 intervals: still fresh
    assert client.get("/readyz").status_code == 200
    clock.at = NOW + limit + timedelta(seconds=1)
    response = client.get("/readyz")
    assert response.status_code == 503
    scheduler = checks(response)["scheduler"]
    assert scheduler["status"] == "failed"
    assert scheduler["detail"] == (
        "last successful tick 2026-11-27T02:00:00+00:00 (901 s ago), older than 3 intervals "
        "(900 s)")
    # A tick that has started counts from its start while it runs…
    with watched.database.session() as session:
        heartbeat.begin(session, "tick", started=clock.now())
    response = client.get("/readyz")
    assert response.status_code == 200
    assert checks(response)["scheduler"]["detail"].startswith("a tick running since ")
    # …and one that never finishes goes stale too.
    clock.at += limit + timedelta(seconds=1)
    assert client.get("/readyz").status_code == 503


def test_a_failing_tick_goes_stale_after_three_intervals(watched, clock):
    client = make_app(watched).test_client()
    clock.at = NOW + timedelta(minutes=5)
    with watched.database.session() as session:
        heartbeat.beat(session, "tick", started=clock.now(), finished=clock.now(), ok=False,
                       error="OperationalError: boom")
    response = client.get("/readyz")  # the last success is 5 min old: still ready
    assert response.status_code == 200
    assert "the last tick failed" in checks(response)["scheduler"]["detail"]
    clock.at = NOW + timedelta(minutes=16)
    response = client.get("/readyz")
    assert response.status_code == 503
    detail = checks(response)["scheduler"]["detail"]
    assert "the last tick failed at 2026-11-27T02:05:00+00:00" in detail
    assert "boom" not in response.get_data(as_text=True)  # the error stays in the database


def test_no_tick_ever_is_not_ready(loaded):
    response = make_app(loaded).test_client().get("/readyz")
    assert response.status_code == 503
    assert checks(response)["scheduler"]["detail"].startswith("no tick recorded yet")


def test_not_ready_when_the_last_publish_failed(watched, clock):
    client = make_app(watched).test_client()
    with watched.database.session() as session:
        heartbeat.beat(session, "publish", started=clock.now(), finished=clock.now(),
                       ok=False, error="PermissionError: /srv/feeds/calendar.ics")
    response = client.get("/readyz")
    assert response.status_code == 503
    publish = checks(response)["publish"]
    assert publish == {"name": "publish", "status": "failed", "detail":
                       "the last publish failed at 2026-11-27T02:00:00+00:00 (see the log)"}
    assert "/srv/feeds" not in response.get_data(as_text=True)
    with watched.database.session() as session:
        heartbeat.beat(session, "publish", started=clock.now(), finished=clock.now(), ok=True,
                       detail={"bytes": 1000, "files": 3})
    response = client.get("/readyz")
    assert response.status_code == 200 and checks(response)["publish"]["status"] == "ok"


# --- /metrics ---------------------------------------------------------------------------

def test_metrics_count_requests_by_route_and_status(watched):
    client = make_app(watched).test_client()
    before = scrape(client)
    for _ in range(3):
        assert client.get("/year/2024").status_code == 200
    assert client.get("/year/2025?x=1").status_code == 200
    assert client.get("/no/such/page-1234567").status_code == 404
    assert client.get("/year/abc").status_code == 404
    text = client.get("/metrics").get_data(as_text=True)
    after = samples(text)
    rule = {"method": "GET", "route": "/year/<int:year>"}
    assert value(after, "calendar_http_requests_total", status="200", **rule) - value(
        before, "calendar_http_requests_total", status="200", **rule) == 4
    assert value(after, "calendar_http_request_duration_seconds_count", **rule) - value(
        before, "calendar_http_request_duration_seconds_count", **rule) == 4
    assert value(after, "calendar_http_request_duration_seconds_bucket", le="+Inf", **rule) \
        == value(after, "calendar_http_request_duration_seconds_count", **rule)
    unmatched = {"method": "GET", "route": "(unmatched)", "status": "404"}
    assert value(after, "calendar_http_requests_total", **unmatched) - value(
        before, "calendar_http_requests_total", **unmatched) == 2
    # Raw paths never become labels: bounded cardinality.
    assert "page-1234567" not in text and "/year/2025" not in text and "abc" not in text


def test_metrics_read_the_heartbeats_and_readiness(watched, clock):
    with watched.database.session() as session:
        heartbeat.beat(session, "publish", started=clock.now() - timedelta(seconds=2),
                       finished=clock.now(), ok=True,
                       detail={"duration_seconds": 1.5, "bytes": 123456, "files": 9,
                               "note": "text is no figure", "flag": True})
    found = scrape(make_app(watched).test_client())
    moment = clock.now().timestamp()
    assert value(found, "calendar_ready") == 1.0
    assert value(found, "calendar_ready_check", check="scheduler") == 1.0
    assert value(found, "calendar_job_last_success_timestamp_seconds", name="tick") == moment
    assert value(found, "calendar_job_ok", name="tick") == 1.0
    assert value(found, "calendar_job_running", name="tick") == 0.0
    assert value(found, "calendar_job_figure", name="tick", figure="sent") == 0.0
    assert ("calendar_job_duration_seconds", (("name", "tick"),)) in found
    assert value(found, "calendar_job_last_success_timestamp_seconds", name="publish") == moment
    assert value(found, "calendar_job_duration_seconds", name="publish") == 1.5
    assert value(found, "calendar_job_figure", name="publish", figure="bytes") == 123456
    assert value(found, "calendar_job_figure", name="publish", figure="files") == 9
    assert ("calendar_job_figure", (("figure", "note"), ("name", "publish"))) not in found
    assert ("calendar_job_figure", (("figure", "flag"), ("name", "publish"))) not in found
    # Stale: not ready, and the check says which.
    clock.at = NOW + timedelta(hours=1)
    found = scrape(make_app(watched).test_client())
    assert value(found, "calendar_ready") == 0.0
    assert value(found, "calendar_ready_check", check="scheduler") == 0.0
    assert value(found, "calendar_ready_check", check="database") == 1.0


def at(day: str, hour: int = 8) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+07:00")


def test_metrics_count_real_deliveries(db_url, database, tmp_path, clock):
    sink = SMTPSink().start()
    try:
        services = Services(make_settings(db_url, tmp_path, CALENDAR_MAIL_URL=sink.url),
                            clock=clock, _database=database)
        with services.database.session() as session:
            sync_catalogue(session, load_catalogue([EVENTS_2024]), at("2024-01-01"))
            for address in ("editor@example.org", "bounce@example.org", "later@example.org"):
                subs.add(session, subs.NewSubscriber.parse(address), at("2024-01-01"))
        sink.handler.rejected.add("bounce@example.org")
        client = make_app(services).test_client()
        before = scrape(client)
        sink.handler.temporary_failures = 0
        # later@ gets a 451: fails once, waits for a retry.
        original = sink.handler.handle_DATA

        async def one_451(server, session, envelope):
            if envelope.rcpt_tos == ["later@example.org"]:
                return "451 4.3.0 Try again later"
            return await original(server, session, envelope)

        sink.handler.handle_DATA = one_451
        report = run_tick(services, at("2024-04-30"))
        d = report.dispatch
        assert d.sent.total >= 1 and d.failed.total >= 1 and d.retrying.total >= 1
        after = scrape(client)
        email = {"kind": "reminder", "channel": "email"}
        for status, expected in (("sent", d.sent.total), ("failed", d.failed.total),
                                 ("retrying", d.retrying.total)):
            assert value(after, "calendar_deliveries_total", status=status, **email) - value(
                before, "calendar_deliveries_total", status=status, **email) == expected
        # The ledger, read at scrape time.
        assert value(after, "calendar_deliveries_failed", channel="email") == d.failed.total
        assert value(after, "calendar_deliveries_retrying", channel="email") == d.retrying.total
        assert value(after, "calendar_deliveries_pending", channel="email") >= d.retrying.total
        assert value(after, "calendar_deliveries_sending", channel="email") == 0
        assert ("calendar_deliveries_pending", (("channel", "webhook"),)) in after
    finally:
        sink.stop()


def test_metrics_with_a_token(watched, tmp_path, db_url):
    services = Services(make_settings(db_url, tmp_path, CALENDAR_METRICS_TOKEN=TOKEN),
                        clock=watched.clock, _database=watched.database)
    client = make_app(services).test_client()
    assert client.get("/metrics").status_code == 404  # even from loopback
    for header in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", TOKEN,
                   f"Basic {TOKEN}", f"Bearer {TOKEN} extra"):
        assert client.get("/metrics", headers={"Authorization": header}).status_code == 404
    remote = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                        environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert remote.status_code == 200 and b"calendar_ready" in remote.data
    assert client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"}
                      ).status_code == 200
    # The 404 is the site's ordinary one: nothing says a page is there.
    assert client.get("/metrics").get_data() == client.get("/no-such-page").get_data()


def test_metrics_without_a_token_only_for_loopback(watched, tmp_path, db_url):
    client = make_app(watched).test_client()
    for address in ("127.0.0.1", "::1"):
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": address}).status_code == 200
    for address in ("10.0.0.5", "203.0.113.7", "::ffff:203.0.113.7", ""):
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": address}
                          ).status_code == 404
    # Relayed by a proxy that is not trusted (CALENDAR_TRUSTED_PROXIES=0): not local.
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        assert client.get("/metrics", headers={header: "127.0.0.1"}).status_code == 404
    # Behind one trusted nginx: the address it names decides.
    proxied = make_app(Services(make_settings(db_url, tmp_path, CALENDAR_TRUSTED_PROXIES="1"),
                                clock=watched.clock, _database=watched.database)).test_client()
    assert proxied.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}
                       ).status_code == 404
    assert proxied.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


# --- Logs -------------------------------------------------------------------------------

@pytest.fixture
def captured():
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    yield stream
    root.setLevel(level)
    for handler in [h for h in root.handlers if isinstance(h, logs._OurHandler)]:
        root.removeHandler(handler)


def json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_one_json_line_per_request_without_secrets(watched, tmp_path, db_url, captured):
    services = Services(make_settings(db_url, tmp_path, CALENDAR_LOG_FORMAT="json"),
                        clock=watched.clock, _database=watched.database)
    logs.configure(services.settings, captured)
    client = make_app(services).test_client()
    secret = "eyJzIjoxLCJlIjoiZWRpdG9yQGV4YW1wbGUub3JnIn0.SECRETsignature123"
    client.get("/calendar.ics?category=victory&token=querysecret")
    client.get(f"/unsubscribe/{secret}")
    client.get(f"/subscribe/confirm/{secret}")
    client.get(f"/agencies/so-tttt/{secret}/tasks.ics")
    client.get(f"/no/such/{secret}")  # matches no route: still redacted
    client.get("/year/2024", headers={"X-Request-ID": "nginx-req-0123456789abcdef"})
    client.get("/year/2024", headers={"X-Request-ID": "bad id with spaces"})
    client.get("/year/2024\x00evil")
    text = captured.getvalue()
    assert secret not in text and "SECRETsignature" not in text and "querysecret" not in text
    lines = [line for line in json_lines(captured) if line.get("event") == "request"]
    assert len(lines) == 8
    for line in lines:
        assert {"time", "level", "logger", "message", "method", "route", "path", "status",
                "duration_ms", "request_id"} <= set(line)
        assert line["logger"] == "calendar_service.http" and line["level"] == "INFO"
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert line["time"].endswith("+00:00")
    feed, unsubscribe, confirm, agency, unmatched, given, bad, nul = lines
    assert feed["path"] == "/calendar.ics" and feed["route"] == "/calendar.ics"
    assert feed["status"] == 200
    assert unsubscribe["path"] == "/unsubscribe/…"
    assert unsubscribe["route"] == "/unsubscribe/<token>"
    assert confirm["path"] == "/subscribe/confirm/…"
    assert agency["path"] == "/agencies/so-tttt/…/tasks.ics"
    assert unmatched["path"] == "/no/such/…" and unmatched["route"] == "(unmatched)"
    assert unmatched["status"] == 404
    assert given["request_id"] == "nginx-req-0123456789abcdef"
    assert bad["request_id"] != "bad id with spaces" and len(bad["request_id"]) == 32
    assert nul["status"] == 400 and "\\x00" in nul["path"]


def test_an_unhandled_error_is_logged_without_the_secret(watched, caplog):
    app = make_app(watched)
    app.testing = False  # as in production: the error handler answers 500 and logs

    @app.get("/boom/<token>")
    def boom(token):
        raise RuntimeError("boom")

    secret = "eyJzIjoxfQ.SECRETsignature1234567890"
    response = app.test_client().get(f"/boom/{secret}")
    assert response.status_code == 500
    assert "unhandled error on /boom/… (request id " in caplog.text
    assert secret not in caplog.text and "SECRET" not in caplog.text


def test_the_request_id_is_answered(watched):
    client = make_app(watched).test_client()
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123-def-456"})
    assert response.headers["X-Request-ID"] == "abc-123-def-456"
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32 and made != client.get("/healthz").headers["X-Request-ID"]


def test_plain_text_lines_by_default(watched, captured):
    logs.configure(watched.settings, captured)
    make_app(watched).test_client().get("/year/2024")
    tick_job(watched)
    lines = captured.getvalue().splitlines()
    request_line = next(line for line in lines if "calendar_service.http" in line)
    assert " INFO calendar_service.http: GET /year/2024 200 " in request_line
    assert "[/year/<int:year>] id=" in request_line
    assert request_line[:24].endswith("Z")  # UTC, ISO 8601
    tick = next(line for line in lines if "calendar_service.reminders" in line)
    assert ": tick ok in " in tick and "0 sent" in tick


def test_one_json_line_per_tick(watched, tmp_path, db_url, captured):
    services = Services(make_settings(db_url, tmp_path, CALENDAR_LOG_FORMAT="json"),
                        clock=watched.clock, _database=watched.database)
    logs.configure(services.settings, captured)
    tick_job(services)
    (line,) = [line for line in json_lines(captured) if line.get("event") == "tick"]
    assert line["ok"] is True and line["logger"] == "calendar_service.reminders"
    assert {"duration_ms", "planned", "sent", "retrying", "failed", "skipped"} <= set(line)


# --- Settings ---------------------------------------------------------------------------

@pytest.mark.parametrize(("env", "message"), [
    ({"CALENDAR_LOG_FORMAT": "xml"}, "CALENDAR_LOG_FORMAT must be text or json, not 'xml'"),
    ({"CALENDAR_LOG_LEVEL": "chatty"}, "CALENDAR_LOG_LEVEL must be one of DEBUG, INFO"),
    ({"CALENDAR_METRICS_TOKEN": "short"}, "CALENDAR_METRICS_TOKEN must be 16-200 printable"),
    ({"CALENDAR_METRICS_TOKEN": "a token with spaces in it"}, "CALENDAR_METRICS_TOKEN"),
    ({"CALENDAR_METRICS_TOKEN": "tökén-tökén-tökén-tökén"}, "CALENDAR_METRICS_TOKEN"),
    ({"PROMETHEUS_MULTIPROC_DIR": "/nonexistent/metrics"},
     "PROMETHEUS_MULTIPROC_DIR='/nonexistent/metrics' must be an existing folder"),
])
def test_bad_monitoring_settings_are_clear_errors(env, message):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env, env_file=None)
    assert message in str(error.value)
    token = env.get("CALENDAR_METRICS_TOKEN")
    if token:
        assert token not in str(error.value)  # a secret is not repeated


def test_monitoring_settings(tmp_path):
    settings = Settings.from_env({"CALENDAR_LOG_FORMAT": "JSON", "CALENDAR_LOG_LEVEL": "debug",
                                  "CALENDAR_METRICS_TOKEN": f" {TOKEN} ",
                                  "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}, env_file=None)
    assert (settings.log_format, settings.log_level) == ("json", "DEBUG")
    assert settings.metrics_token == TOKEN and TOKEN not in repr(settings)
    assert settings.metrics_multiproc_dir == tmp_path
    default = Settings.from_env({}, env_file=None)
    assert (default.log_format, default.log_level, default.metrics_token,
            default.metrics_multiproc_dir) == ("text", "INFO", None, None)


# --- gunicorn, two workers, multiprocess mode ---------------------------------------------

def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(p) for p in (task / "children").read_text().split()}
    return found


def _wait(condition, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _dead_pid() -> int:
    pid = 4_000_000
    while Path(f"/proc/{pid}").exists():
        pid += 1
    return pid


def test_metrics_add_up_two_gunicorn_workers(loaded, db_url, tmp_path):
    """Two real gunicorn workers with PROMETHEUS_MULTIPROC_DIR: whichever worker answers
    /metrics, it counts every request of both, including a worker that has since ended, and
    the deliveries of another process sharing the folder; on_starting cleared a dead
    process's file; the log lines are JSON."""
    pytest.importorskip("gunicorn", reason="gunicorn (the test extra) is not installed")
    folder = tmp_path / "metrics"
    folder.mkdir()
    stale = folder / f"counter_{_dead_pid()}.db"
    stale.write_bytes(b"left by a previous run")  # not even a valid file: must go
    port = free_port()
    config = tmp_path / "gunicorn.conf.py"
    config.write_text(
        "from calendar_service.ops.gunicorn_hooks import child_exit, on_starting  # noqa\n"
        f"bind = '127.0.0.1:{port}'\nworkers = 2\n", encoding="utf-8")
    env = {**os.environ, "CALENDAR_DATABASE_URL": db_url, "CALENDAR_ENV": "test",
           "CALENDAR_SECRET_KEY": "test-secret", "CALENDAR_HOME": str(tmp_path),
           "CALENDAR_LOG_FORMAT": "json", "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    sink = SMTPSink().start()
    stderr = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(config), "calendar_service.wsgi:app"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        def up():
            if server.poll() is not None:
                raise AssertionError((tmp_path / "gunicorn.log").read_text())
            try:
                return requests.get(f"{url}/healthz", timeout=5).status_code == 200
            except requests.RequestException:  # not listening yet, or a worker booting
                return False

        _wait(up, "gunicorn to answer")
        assert not stale.exists()
        workers = _wait(lambda: len(_children(server.pid)) == 2 and _children(server.pid),
                        "two workers")

        def year_pages(count: int) -> None:
            # Two at a time: a sync worker busy with one leaves the other to its neighbour.
            with ThreadPoolExecutor(2) as pool:
                codes = list(pool.map(lambda _: requests.get(
                    f"{url}/year/2024", headers={"Connection": "close"}, timeout=30
                ).status_code, range(count)))
            assert codes == [200] * count

        year_pages(30)
        counted = {int(p.stem.rsplit("_", 1)[1]) for p in folder.glob("counter_*.db")}
        assert counted == workers  # both workers served (and counted) requests

        def total() -> float:
            response = requests.get(f"{url}/metrics", timeout=10)
            assert response.status_code == 200
            return value(samples(response.text), "calendar_http_requests_total",
                         method="GET", route="/year/<int:year>", status="200")

        assert {total() for _ in range(6)} == {30.0}  # the same sum from either worker
        # One worker ends (gunicorn starts another): its counts stay in the sum.
        ended = min(workers)
        os.kill(ended, signal.SIGTERM)
        _wait(lambda: ended not in _children(server.pid)
              and len(_children(server.pid)) == 2, "a new worker")
        year_pages(10)
        assert {total() for _ in range(6)} == {40.0}
        found = samples(requests.get(f"{url}/metrics", timeout=10).text)
        assert value(found, "calendar_http_request_duration_seconds_count", method="GET",
                     route="/year/<int:year>") == 40
        assert ("calendar_ready", ()) in found  # the database's part too
        # Not from outside loopback: the same server behind an untrusted proxy.
        assert requests.get(f"{url}/metrics", headers={"X-Forwarded-For": "203.0.113.7"},
                            timeout=10).status_code == 404
        # Another process sharing the folder — here `remind`, as the `scheduler` would —
        # delivers to a real SMTP server: its counts join the sums.
        with loaded.database.session() as session:
            for address in ("a@example.org", "b@example.org"):
                subs.add(session, subs.NewSubscriber.parse(address), at("2024-01-01"))
        remind = subprocess.run(
            [sys.executable, "-m", "calendar_service", "remind", "--as-of",
             "2024-04-30T08:00:00+07:00"], env={**env, "CALENDAR_MAIL_URL": sink.url},
            cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert remind.returncode == 0, remind.stderr
        assert len(sink.received) >= 2
        sent = {value(samples(requests.get(f"{url}/metrics", timeout=10).text),
                      "calendar_deliveries_total", kind="reminder", channel="email",
                      status="sent") for _ in range(4)}
        assert sent == {float(len(sink.received))}
    finally:
        server.terminate()
        server.wait(timeout=30)
        stderr.close()
        sink.stop()
    lines = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines()
             if line.startswith("{")]
    pages = [line for line in lines if line.get("event") == "request"
             and line["route"] == "/year/<int:year>"]
    assert len(pages) == 40
    assert all(line["status"] == 200 and line["method"] == "GET" and line["request_id"]
               for line in pages)


def test_metrics_under_serve_refuse_a_request_a_local_proxy_relayed(loaded, db_url, tmp_path):
    """Waitress (`serve`) passes the proxy headers on, so a request that a local nginx
    relayed — from loopback, with X-Forwarded-For — is not taken for a local one."""
    port = free_port()
    env = {**os.environ, "CALENDAR_DATABASE_URL": db_url, "CALENDAR_ENV": "test",
           "CALENDAR_SECRET_KEY": "test-secret", "CALENDAR_HOME": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "calendar_service", "serve", "--port", str(port),
         "--no-scheduler"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        def up():
            assert server.poll() is None, "serve exited"
            try:
                return requests.get(f"{url}/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        _wait(up, "serve to answer")
        assert requests.get(f"{url}/metrics", timeout=10).status_code == 200
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
            assert requests.get(f"{url}/metrics", headers={header: "203.0.113.7"},
                                timeout=10).status_code == 404
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_readmes_prometheus_examples_name_real_metrics(watched):
    """The scrape configuration and the alert rules of README's Monitoring section are
    valid YAML, and every metric they name is one /metrics exposes."""
    import re

    import yaml

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Monitoring"):readme.index("## How it is built")]
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", section, re.S)]
    scrape_config, rules = blocks
    assert scrape_config["scrape_configs"][0]["metrics_path"] == "/metrics"
    alerts = {r["alert"]: r["expr"] for r in rules["groups"][0]["rules"]}
    assert set(alerts) == {"CalendarServiceNotReady", "CalendarDeliveriesFailing"}
    exposed = make_app(watched).test_client().get("/metrics").get_data(as_text=True)
    families = {f.name for f in text_string_to_metric_families(exposed)}
    for expr in alerts.values():
        for name in re.findall(r"\bcalendar_[a-z_]+", expr):
            assert name.removesuffix("_total") in families, name


def test_a_configured_publish_folder_without_a_publish_is_not_ready(watched, tmp_path, db_url):
    services = Services(make_settings(db_url, tmp_path,
                                      CALENDAR_PUBLISH_DIR=str(tmp_path / "feeds")),
                        clock=watched.clock, _database=watched.database)
    response = make_app(services).test_client().get("/readyz")
    assert response.status_code == 503
    assert checks(response)["publish"] == {
        "name": "publish", "status": "failed",
        "detail": "publishing is configured but no publish has been recorded yet"}
