"""Issue 13, section 1: a package that installs and runs anywhere — and the five breakages
the issue lists, each with its regression test (numbered as in the issue):

1. `make run`, then `remind`: the unsubscribe links were rejected (a random key per process);
2. `serve --port 5101`: every link said :5000;
3. a postgresql:// URL: a raw ModuleNotFoundError for psycopg;
4. a command outside the project folder: a traceback, and an empty ./instance/calendar.db;
5. a non-editable `pip install .` found neither templates nor migrations.

Everything runs as the user would: real processes, a real wheel in a real venv, real HTTP.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import venv
import zipfile
from datetime import date
from pathlib import Path

import pytest
import requests

from calendar_service.anniversaries import occurrences
from calendar_service.catalogue.loader import load_catalogue
from tests.conftest import PG_URL, ROOT

SCRIPT = Path(sys.executable).with_name("calendar-service")
BASE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(command: list, cwd: Path, env: dict, check: bool = True, timeout: int = 120):
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done


def run_bytes(command: list, cwd: Path, env: dict) -> bytes:
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env,
                          capture_output=True, timeout=120, check=True)
    return done.stdout


class Server:
    """`calendar-service serve` in a subprocess, until stopped."""

    def __init__(self, script: Path, cwd: Path, env: dict, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(script), "serve", "--port", str(self.port), "--no-scheduler"], cwd=cwd,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{self.url}/healthz", timeout=2)
                return
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"serve did not start: {self.output}")
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output = self.process.stdout.read() if self.process.stdout else ""


# --- 5: the wheel -------------------------------------------------------------------------

def _source_tree(target: Path) -> Path:
    """The files a release is built from (git's tracked files, plus the working copies of
    the build files), away from the repository so that the build leaves nothing there."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             timeout=60)
    if tracked.returncode != 0:
        pytest.skip("git: the source tree's file list needs a git checkout")
    for name in tracked.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    for name in ("setup.py", "MANIFEST.in", "pyproject.toml"):
        shutil.copy2(ROOT / name, target / name)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A wheel built with `pip wheel --no-deps`, installed into a throw-away venv whose only
    other packages are this environment's (the dependencies, through a .pth line: offline
    and fast). Returns the venv's bin folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = _source_tree(work / "src")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", work / "dist",
         source], cwd=work, env={**os.environ}, timeout=600)
    [wheel] = (work / "dist").glob("calendar_service-*.whl")
    target = work / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               cwd=work, env=BASE_ENV).stdout.strip()
    # The dependencies: this environment's site-packages, after the venv's own (a plain
    # path line, so its .pth files — the editable install of this checkout — are not read).
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         "--quiet", wheel], cwd=work, env={**os.environ}, timeout=600)
    return target / "bin"


def test_the_wheel_carries_the_templates_migrations_static_files_and_catalogue(installed):
    wheel = next(installed.parent.parent.glob("dist/*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("templates/base.html", "static/site.css", "migrations/env.py",
                 "migrations/versions/0001_catalogue.py", "events/2024.toml",
                 "templates/email/reminder.txt"):
        assert f"calendar_service/_data/{name}" in names, name
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist: psycopg")]
    # Breakage 3: the PostgreSQL driver comes with the package, not only with an extra.
    assert any("extra ==" not in line for line in requires), requires


def test_the_installed_package_runs_from_any_folder(installed, tmp_path):
    """Breakage 5: db upgrade, load, check and serve from /tmp, templates and migrations
    found in the installed package (not in this checkout)."""
    script = installed / "calendar-service"
    where = run([installed / "python", "-c", "import calendar_service.resources as r; "
                 "print(r.__file__); print(r.TEMPLATES)"], cwd=tmp_path, env=BASE_ENV)
    module, templates = where.stdout.split()
    assert module.startswith(str(installed.parent)) and "_data" in templates
    assert not templates.startswith(str(ROOT))

    env = {**BASE_ENV, "CALENDAR_HOME": str(tmp_path / "state")}
    assert "database at revision" in run([script, "db", "upgrade"], tmp_path, env).stdout
    # What the bundled catalogue holds, counted by the checkout's own reader and engine.
    catalogue = load_catalogue(sorted((ROOT / "events").glob("*.toml")))
    dated_2024 = [o for o in occurrences(catalogue.commemorations, date(2024, 1, 1),
                                         date(2024, 12, 31), include_undated=False)]
    assert (f"loaded {len(catalogue.commemorations)} commemorations"
            in run([script, "load"], tmp_path, env).stdout)
    assert ": OK" in run([script, "check"], tmp_path, env).stdout
    assert (tmp_path / "state" / "calendar.db").is_file()

    server = Server(script, tmp_path, env)
    try:
        home = requests.get(f"{server.url}/year/2024", timeout=10)
        css = requests.get(f"{server.url}/static/site.css", timeout=10)
        feed = requests.get(f"{server.url}/calendar.ics?year=2024", timeout=10)
    finally:
        server.stop()
    assert home.status_code == 200 and "Điện Biên Phủ" in home.text
    assert css.status_code == 200 and css.content == (ROOT / "static" / "site.css").read_bytes()
    assert feed.status_code == 200
    assert feed.text.count("BEGIN:VEVENT") == len(dated_2024) > 11  # year-only ones: no event
    # The same bytes from the command (its links too: it follows the last serve's address).
    assert feed.content == run_bytes([script, "feed", "--year", "2024"], tmp_path, env)
    assert {"calendar.db", "secret_key", "served_url"} <= {
        p.name for p in (tmp_path / "state").iterdir()}
    assert not (tmp_path / "instance").exists()


# --- 4: a command outside the project ------------------------------------------------------

@pytest.mark.parametrize("args", [["subscribers", "list"], ["occurrences"], ["load"],
                                  ["remind", "--dry-run"], ["serve", "--port", "1"],
                                  ["backup", "-o", "b.db"]])
def test_a_missing_database_is_one_line_and_creates_nothing(tmp_path, args):
    done = run([SCRIPT, *args], tmp_path, BASE_ENV, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert str(tmp_path / "instance" / "calendar.db") in done.stderr
    assert "calendar-service db upgrade" in done.stderr
    assert not (tmp_path / "instance").exists()  # no empty database, not even its folder


def test_an_unmigrated_or_old_database_is_one_line(tmp_path):
    env = {**BASE_ENV, "CALENDAR_HOME": str(tmp_path)}
    run([SCRIPT, "db", "upgrade", "--revision", "0006"], tmp_path, env)
    done = run([SCRIPT, "subscribers", "list"], tmp_path, env, check=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "revision 0006" in done.stderr and "db upgrade" in done.stderr
    assert "backup" in done.stderr  # what to do before
    run([SCRIPT, "db", "upgrade"], tmp_path, env)
    assert run([SCRIPT, "subscribers", "list"], tmp_path, env).returncode == 0


def test_a_database_newer_than_the_code_is_one_line(tmp_path):
    from sqlalchemy import create_engine, text

    env = {**BASE_ENV, "CALENDAR_HOME": str(tmp_path)}
    run([SCRIPT, "db", "upgrade"], tmp_path, env)
    engine = create_engine(f"sqlite:///{tmp_path / 'calendar.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    engine.dispose()
    done = run([SCRIPT, "occurrences"], tmp_path, env, check=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "0099_future" in done.stderr and "newer" in done.stderr


def test_an_unreachable_postgresql_is_one_line(tmp_path):
    port = _free_port()  # nothing listens there
    env = {**BASE_ENV, "CALENDAR_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{port}/x"}
    done = run([SCRIPT, "subscribers", "list"], tmp_path, env, check=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "cannot open the database" in done.stderr and "Traceback" not in done.stderr


# --- 3: PostgreSQL out of the box ------------------------------------------------------------

def test_without_the_driver_a_postgresql_url_is_one_line_naming_it(tmp_path):
    """psycopg is a dependency; should it be missing all the same (a broken install), the
    message names what to install instead of a ModuleNotFoundError."""
    code = ("import sys; sys.modules['psycopg'] = None; "
            "from calendar_service.cli import main; main()")
    env = {**BASE_ENV, "CALENDAR_DATABASE_URL": "postgresql://u@127.0.0.1/db"}
    done = run([sys.executable, "-c", code, "subscribers", "list"], tmp_path, env, check=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "psycopg" in done.stderr and "pip install" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="PostgreSQL: CALENDAR_TEST_DATABASE_URL is not set")
def test_the_installed_package_works_on_postgresql(installed, pg_url, tmp_path):
    env = {**BASE_ENV, "CALENDAR_DATABASE_URL": pg_url.replace("postgresql+psycopg://",
                                                               "postgresql://")}
    script = installed / "calendar-service"
    run([script, "db", "upgrade"], tmp_path, env)
    run([script, "load"], tmp_path, env)
    done = run([script, "occurrences", "--from", "2024-05-07", "--to", "2024-05-07"],
               tmp_path, env)
    assert "Điện Biên Phủ" in done.stdout


# --- 1 and 2: one key, and links that follow the server ---------------------------------

def _unsubscribe_link(outbox: Path) -> str:
    message_file = sorted(outbox.glob("*.eml"))[0]  # every one is to the same subscriber
    message = email.message_from_bytes(message_file.read_bytes())
    return re.search(r"<(http[^>]+/unsubscribe/[^>]+)>", message["List-Unsubscribe"]).group(1)


def test_links_signed_by_remind_work_on_serve_and_after_a_restart(tmp_path):
    """Breakages 1 and 2: `make run PORT=…` then `calendar-service remind` in another shell,
    all in development without any key or base URL set: the mail's unsubscribe link names
    the server's port and the server accepts it, before and after a restart."""
    env = {**BASE_ENV, "CALENDAR_HOME": str(tmp_path / "instance")}
    for args in (["db", "upgrade"], ["load"], ["subscribers", "add", "editor@example.org"]):
        run([SCRIPT, *args], tmp_path, env)
    server = Server(SCRIPT, tmp_path, env)
    try:
        run([SCRIPT, "remind", "--as-of", "2024-04-30T08:00:00+07:00"], tmp_path, env)
        link = _unsubscribe_link(tmp_path / "instance" / "outbox")
        assert link.startswith(f"{server.url}/unsubscribe/")
        assert requests.get(link, timeout=10).status_code == 200
        forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
        assert requests.get(forged, timeout=10).status_code == 404
    finally:
        server.stop()
    restarted = Server(SCRIPT, tmp_path, env, port=server.port)
    try:
        assert requests.get(link, timeout=10).status_code == 200
    finally:
        restarted.stop()
    key = tmp_path / "instance" / "secret_key"
    assert key.stat().st_mode & 0o777 == 0o600


def test_every_link_follows_serves_port(tmp_path):
    """Breakage 2: feed addresses, webcal and Google links, API url fields, the feed's own
    links: the port `serve` was given, never :5000; CALENDAR_BASE_URL, when set, wins."""
    env = {**BASE_ENV, "CALENDAR_HOME": str(tmp_path / "instance")}
    for args in (["db", "upgrade"], ["load"]):
        run([SCRIPT, *args], tmp_path, env)
    server = Server(SCRIPT, tmp_path, env)
    try:
        pages = {path: requests.get(f"{server.url}{path}", timeout=10).text
                 for path in ("/", "/subscribe", "/api/events?from=2024-01-01&to=2024-12-31",
                              "/calendar.ics?year=2024", "/api/openapi.json")}
    finally:
        server.stop()
    host = f"127.0.0.1:{server.port}"
    assert f"webcal://{host}/calendar.ics" in pages["/subscribe"]
    assert "google.com" in pages["/subscribe"] and f"%2F%2F{host}%2F" in pages["/subscribe"] \
        or f"webcal%3A%2F%2F{host.replace(':', '%3A')}" in pages["/subscribe"]
    assert f'"url":"http://{host}/events/' in pages[
        "/api/events?from=2024-01-01&to=2024-12-31"].replace(" ", "")
    assert f"@{'127.0.0.1'}" in pages["/calendar.ics?year=2024"]
    assert f"http://{host}/events/" in pages["/calendar.ics?year=2024"].replace("\r\n ", "")
    for path, body in pages.items():
        assert ":5000" not in body, path

    given = {**env, "CALENDAR_BASE_URL": "https://lich.example.vn"}
    server = Server(SCRIPT, tmp_path, given)
    try:
        body = requests.get(f"{server.url}/subscribe", timeout=10).text
    finally:
        server.stop()
    assert "webcal://lich.example.vn/calendar.ics" in body and host not in body


# --- rotating the secret key ----------------------------------------------------------------

def test_a_rotated_key_keeps_old_links_and_sessions_while_it_is_a_fallback(loaded, cli):
    """README "Rotating the secret key": with the old key in CALENDAR_SECRET_KEY_FALLBACKS,
    an unsubscribe link and a session cookie signed before the rotation still work (real
    requests through the app); without it, the link is refused and the cookie ignored."""
    from dataclasses import replace

    from itsdangerous import BadSignature

    from calendar_service.app import create_app
    from calendar_service.app_context import Services
    from calendar_service.reminders.subscribers import find
    from calendar_service.reminders.tokens import make_token

    cli("subscribers", "add", "editor@example.org")
    with loaded.database.session() as session:
        ident = find(session, "editor@example.org").id

    def app_with(secret: str, fallbacks: tuple[str, ...] = ()):
        settings = replace(loaded.settings, secret=secret, secret_fallbacks=fallbacks)
        app = create_app(Services(settings, clock=loaded.clock, _database=loaded.database))
        app.testing = True
        return app

    before = app_with("old-test-key")
    link = "/unsubscribe/" + make_token(before.config["SECRET_KEY"], "unsubscribe", ident,
                                        "editor@example.org")
    cookie = before.session_interface.get_signing_serializer(before).dumps({"seen": 1})
    assert before.test_client().get(link).status_code == 200

    rotated = app_with("new-test-key", ("old-test-key",))
    assert rotated.test_client().get(link).status_code == 200
    assert rotated.session_interface.get_signing_serializer(rotated).loads(cookie) == {"seen": 1}

    dropped = app_with("new-test-key")
    assert dropped.test_client().get(link).status_code == 404
    with pytest.raises(BadSignature):
        dropped.session_interface.get_signing_serializer(dropped).loads(cookie)
