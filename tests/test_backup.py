"""Issue 13, section 4: `backup -o FILE` and `restore FILE [--force]`, on SQLite and on a
fresh PostgreSQL database (created and dropped here), through the real command line and,
for PostgreSQL, the real pg_dump, pg_restore and psql."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, text

from calendar_service.config import normalise_database_url
from tests.conftest import PG_URL, ROOT

SCRIPT = [sys.executable, "-m", "calendar_service"]
BASE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
EVENTS = str(ROOT / "events" / "*.toml")


def cli(env: dict, *args: str, cwd, check: bool = True):
    done = subprocess.run([*SCRIPT, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=180)
    if check:
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def rows(url: str, sql: str) -> list:
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def pg_databases():
    """Two fresh PostgreSQL databases (source and target of a restore), dropped after."""
    if not PG_URL:
        pytest.skip("PostgreSQL: CALENDAR_TEST_DATABASE_URL is not set")
    if not all(shutil.which(t) for t in ("pg_dump", "pg_restore", "psql")):
        pytest.skip("PostgreSQL client tools: pg_dump, pg_restore or psql is not on PATH")
    admin = create_engine(normalise_database_url(PG_URL), isolation_level="AUTOCOMMIT")
    names = [f"cal_backup_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_URL.rsplit("/", 1)[0]
    yield [f"{base}/{name}" for name in names]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _backends(tmp_path, pg_databases=None):
    if pg_databases is None:
        return (f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 'target.db'}")
    return tuple(pg_databases)


def _round_trip(tmp_path, source: str, target: str, suffix: str) -> None:
    env = {**BASE_ENV, "CALENDAR_HOME": str(tmp_path / "home"), "CALENDAR_EVENTS": EVENTS}
    src = {**env, "CALENDAR_DATABASE_URL": source}
    dst = {**env, "CALENDAR_DATABASE_URL": target}
    for args in (["db", "upgrade"], ["load"], ["subscribers", "add", "editor@example.org",
                                                "--name", "Phòng Văn hóa - Thông tin"]):
        cli(src, *args, cwd=tmp_path)
    backup = tmp_path / f"calendar.{suffix}"
    done = cli(src, "backup", "-o", str(backup), cwd=tmp_path)
    assert str(backup) in done.stdout and backup.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []

    # Into an empty database (none at all for SQLite: restore creates it).
    done = cli(dst, "restore", str(backup), cwd=tmp_path)
    assert "now at" in done.stdout
    listed = cli(dst, "subscribers", "list", cwd=tmp_path).stdout
    assert "editor@example.org" in listed and "Phòng Văn hóa - Thông tin" in listed
    assert cli(dst, "occurrences", "--from", "2024-05-07", "--to", "2024-05-07",
               cwd=tmp_path).stdout.count("Chiến thắng Điện Biên Phủ") == 1
    same = "SELECT id, revision, title FROM commemorations ORDER BY id"
    # events/*.toml: the 2024 directive's 12, the national (29) and local (8) lists
    assert rows(target, same) == rows(source, same) and len(rows(source, same)) == 49

    # The target now holds data: refused without --force, and nothing changes.
    cli(dst, "subscribers", "add", "second@example.org", cwd=tmp_path)
    refused = cli(dst, "restore", str(backup), cwd=tmp_path, check=False)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "--force" in refused.stderr and "holds data" in refused.stderr
    assert "second@example.org" in cli(dst, "subscribers", "list", cwd=tmp_path).stdout
    # With --force the backup replaces it, and running processes' caches see a new version.
    version = rows(target, "SELECT data_version FROM store_state")[0][0]
    cli(dst, "restore", "--force", str(backup), cwd=tmp_path)
    listed = cli(dst, "subscribers", "list", cwd=tmp_path).stdout
    assert "editor@example.org" in listed and "second@example.org" not in listed
    assert rows(target, "SELECT data_version FROM store_state")[0][0] > version


def test_sqlite_round_trip(tmp_path):
    _round_trip(tmp_path, *_backends(tmp_path), "db")


@pytest.mark.postgres
def test_postgresql_round_trip(tmp_path, pg_databases):
    _round_trip(tmp_path, *_backends(tmp_path, pg_databases), "dump")


def test_sqlite_backup_while_the_database_is_written_is_consistent(tmp_path):
    """The online backup API: a copy taken with a write transaction open elsewhere holds the
    committed state, and is a standalone file (no -wal beside it needed)."""
    env = {**BASE_ENV, "CALENDAR_HOME": str(tmp_path), "CALENDAR_EVENTS": EVENTS}
    cli(env, "db", "upgrade", cwd=tmp_path)
    cli(env, "load", cwd=tmp_path)
    writer = sqlite3.connect(tmp_path / "calendar.db")
    writer.execute("BEGIN")
    writer.execute("UPDATE commemorations SET title = 'half-written'")
    cli(env, "backup", "-o", str(tmp_path / "b.db"), cwd=tmp_path)
    writer.rollback()
    writer.close()
    copy = sqlite3.connect(tmp_path / "b.db")
    titles = [r[0] for r in copy.execute("SELECT title FROM commemorations")]
    assert len(titles) == 49 and "half-written" not in titles
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    copy.close()


def test_an_old_backup_is_migrated_on_restore(tmp_path):
    env = {**BASE_ENV, "CALENDAR_HOME": str(tmp_path)}
    old = {**env, "CALENDAR_DATABASE_URL": f"sqlite:///{tmp_path / 'old.db'}"}
    cli(old, "db", "upgrade", "--revision", "0006", cwd=tmp_path)
    # An old database can still be backed up (before upgrading, as the message advises).
    cli(old, "backup", "-o", str(tmp_path / "old-backup.db"), cwd=tmp_path)
    done = cli(env, "restore", str(tmp_path / "old-backup.db"), cwd=tmp_path)
    assert "backup at revision 0006" in done.stdout
    assert cli(env, "subscribers", "list", cwd=tmp_path).returncode == 0  # migrated: current


@pytest.mark.parametrize("content, message", [
    (b"", "not a calendar-service backup"),
    (b"BEGIN:VCALENDAR\r\n", "not a calendar-service backup"),
    (b"SQLite format 3\x00" + b"\x00" * 200, "damaged"),
])
def test_a_bad_file_is_refused_and_changes_nothing(tmp_path, content, message):
    env = {**BASE_ENV, "CALENDAR_HOME": str(tmp_path)}
    bad = tmp_path / "bad.bin"
    bad.write_bytes(content)
    done = cli(env, "restore", str(bad), cwd=tmp_path, check=False)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "calendar.db").exists()


def test_another_sqlite_database_and_the_wrong_kind_are_refused(tmp_path):
    env = {**BASE_ENV, "CALENDAR_HOME": str(tmp_path)}
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE notes (x)")
    other.commit()
    other.close()
    done = cli(env, "restore", str(tmp_path / "other.db"), cwd=tmp_path, check=False)
    assert done.returncode == 1 and "not a calendar-service backup" in done.stderr
    missing = cli(env, "restore", str(tmp_path / "nowhere.db"), cwd=tmp_path, check=False)
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    (tmp_path / "fake.dump").write_bytes(b"PGDMP" + b"\x00" * 100)
    pg = {**env, "CALENDAR_DATABASE_URL": "sqlite:///" + str(tmp_path / "c.db")}
    wrong = cli(pg, "restore", str(tmp_path / "fake.dump"), cwd=tmp_path, check=False)
    assert wrong.returncode == 1 and "is a PostgreSQL backup" in wrong.stderr
    assert "is SQLite" in wrong.stderr


@pytest.mark.postgres
def test_postgresql_without_pg_dump_is_one_line(tmp_path, pg_databases):
    env = {"PATH": str(tmp_path / "empty-bin"), "LANG": "C.UTF-8",
           "CALENDAR_DATABASE_URL": pg_databases[0], "CALENDAR_HOME": str(tmp_path)}
    (tmp_path / "empty-bin").mkdir()
    cli(env, "db", "upgrade", cwd=tmp_path)
    done = cli(env, "backup", "-o", str(tmp_path / "x.dump"), cwd=tmp_path, check=False)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "pg_dump is not on PATH" in done.stderr and "postgresql-client" in done.stderr
    assert not (tmp_path / "x.dump").exists()


@pytest.mark.postgres
def test_a_sqlite_backup_is_refused_by_postgresql(tmp_path, pg_databases):
    env = {**BASE_ENV, "CALENDAR_HOME": str(tmp_path)}
    cli(env, "db", "upgrade", cwd=tmp_path)
    cli(env, "backup", "-o", str(tmp_path / "b.db"), cwd=tmp_path)
    pg = {**env, "CALENDAR_DATABASE_URL": pg_databases[0]}
    done = cli(pg, "restore", str(tmp_path / "b.db"), cwd=tmp_path, check=False)
    assert done.returncode == 1 and "is a SQLite backup" in done.stderr
    assert rows(pg_databases[0], "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = 'public'") == [(0,)]
