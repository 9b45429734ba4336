"""`calendar-service backup` and `restore`: the whole store to one file and back.

SQLite goes through its online backup API (a consistent copy while the web app and the
scheduler keep writing; restoring writes the live file the same way, so a running process
never reads half a file). PostgreSQL goes through pg_dump's custom format and pg_restore,
piped into psql as one transaction: a restore that fails leaves the database as it was.
The backup is refused for the wrong kind of file, and a database that holds data is only
replaced with `force`. After a restore the schema is migrated to this version, and the data
version moves past both the old and the restored one, so that every running process's
caches see the change.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote

from sqlalchemy import text, update
from sqlalchemy.engine import make_url

from .db import Database
from .migrate import head, known_revisions, upgrade
from .models import StoreState
from .state import STATE_ID

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
# Tables that do not make a database "hold data": the schema's revision, the data version
# (seeded by the migration) and the background jobs' heartbeats (written by a scheduler that
# ran over the empty database).
BOOKKEEPING = frozenset({"alembic_version", "store_state", "heartbeats"})
PG_TOOLS_HINT = "install the PostgreSQL client tools (Debian: apt install postgresql-client)"


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why, in one line."""


@dataclass(frozen=True)
class Restored:
    revision: str  # the backup's schema revision, before migrating it to this version
    migrated_to: str


# --- backup ---------------------------------------------------------------------------------

def backup(database: Database, target: Path) -> str:
    """Write the whole store to `target` (atomically: a finished file or none); returns
    what was written, for the command's one line."""
    target = target.resolve()
    if target.is_dir():
        raise BackupError(f"{target} is a folder; name the backup file")
    if not target.parent.is_dir():
        raise BackupError(f"no folder {target.parent} for the backup")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        if database.file is not None:
            _sqlite_backup(database.file, temporary)
            kind = "SQLite"
        elif database.engine.dialect.name == "postgresql":
            _pg_dump(database, temporary)
            kind = "PostgreSQL (pg_dump custom format)"
        else:  # pragma: no cover - the two supported databases
            raise BackupError(f"cannot back up a {database.engine.dialect.name} database")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return f"{kind} backup of {database.describe()} written to {target} " \
           f"({target.stat().st_size:,} bytes)"


def _sqlite_backup(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)  # consistent even while other processes write
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy {source}: {exc}") from exc
    finally:
        dst.close()
        src.close()


# --- PostgreSQL plumbing ----------------------------------------------------------------------

def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH: {PG_TOOLS_HINT}")
    return found


def _libpq(database: Database) -> tuple[str, dict[str, str]]:
    """The database as a libpq URI for the command-line tools, and their environment (the
    password through PGPASSWORD, never on a command line that `ps` shows)."""
    url = make_url(database.url)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _schema(database: Database) -> str:
    """The schema the service's tables live in (a search_path given in the URL's options,
    or the connection's default)."""
    options = parse_qs(make_url(database.url).render_as_string(hide_password=False)
                       .partition("?")[2]).get("options", [""])[0]
    found = re.search(r"search_path=([A-Za-z0-9_]+)", unquote(options))
    if found:
        return found.group(1)
    with database.engine.connect() as conn:
        return conn.execute(text("SELECT current_schema()")).scalar_one()


def _run(command: list[str], env: dict[str, str], what: str, **kwargs) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        detail = next((line for line in done.stderr.splitlines() if line.strip()),
                      f"exit {done.returncode}")
        raise BackupError(f"{what} failed: {detail}")
    return done.stdout


def _pg_dump(database: Database, target: Path) -> None:
    pg_dump = _tool("pg_dump")
    uri, env = _libpq(database)
    _run([pg_dump, "--format=custom", "--no-owner", "--no-acl",
          f"--schema={_schema(database)}", f"--file={target}", f"--dbname={uri}"], env,
         "pg_dump")


# --- restore ------------------------------------------------------------------------------------

def backup_kind(source: Path) -> str:
    """"sqlite" or "postgresql": which kind of backup the file is, by its first bytes."""
    try:
        with source.open("rb") as handle:
            start = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(f"cannot read {source}: {exc.strerror}") from exc
    if start.startswith(SQLITE_MAGIC):
        return "sqlite"
    if start.startswith(PG_MAGIC):
        return "postgresql"
    raise BackupError(f"{source} is not a calendar-service backup (neither a SQLite database "
                      f"nor a pg_dump custom-format archive)")


def restore(database: Database, source: Path, now: datetime, force: bool = False) -> Restored:
    """Replace the store with the backup in `source`, then migrate it to this version."""
    source = source.resolve()
    kind = backup_kind(source)
    target_kind = "sqlite" if database.file is not None else database.engine.dialect.name
    if kind != target_kind:
        raise BackupError(f"{source} is a {_label(kind)} backup; the database "
                          f"{database.describe()} is {_label(target_kind)}")
    before = _data_version(database)
    if kind == "sqlite":
        revision = _check_sqlite_backup(source)
        _refuse_unless_empty(database, force)
        _sqlite_restore(source, database)
    else:
        listing, revision_schema = _check_pg_backup(source)
        schema = _schema(database)
        if revision_schema != schema:
            raise BackupError(f"{source} holds the schema {revision_schema!r}; the database "
                              f"uses {schema!r} (set its search_path in the URL's options)")
        revision = _pg_backup_revision(source)
        _refuse_unless_empty(database, force, schema)
        _pg_restore(database, source, listing, schema)
    database.engine.dispose()  # connections opened before hold the old file or tables
    upgrade(database.engine)
    with database.session() as session:
        restored = session.execute(text("SELECT data_version FROM store_state WHERE id = 1")
                                   ).scalar() or 0
        session.execute(update(StoreState).where(StoreState.id == STATE_ID)
                        .values(data_version=max(before, restored) + 1, updated_at=now))
    return Restored(revision=revision, migrated_to=head())


def _label(kind: str) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(kind, kind)


def _data_version(database: Database) -> int:
    try:
        with database.engine.connect() as conn:
            return int(conn.execute(text("SELECT data_version FROM store_state WHERE id = 1"))
                       .scalar() or 0)
    except Exception:  # noqa: BLE001 - a new or empty database has no version yet
        return 0


def _pg_backup_revision(source: Path) -> str:
    """The schema revision the archive holds (its alembic_version row), before restoring."""
    data = _run([_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-",
                 str(source)], {**os.environ}, f"reading {source}")
    lines = data.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("COPY ")), None)
    revision = lines[start + 1].strip() if start is not None and start + 1 < len(lines) else ""
    if not revision or revision == "\\.":
        raise BackupError(f"{source} has no schema revision")
    if revision not in known_revisions():
        raise BackupError(f"{source} is at revision {revision}, newer than this "
                          f"calendar-service knows ({head()}): install the newer version")
    return revision


def _check_sqlite_backup(source: Path) -> str:
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"alembic_version", "commemorations"} <= tables:
                raise BackupError(f"{source} is a SQLite database, but not a calendar-service "
                                  f"backup (no alembic_version and commemorations tables)")
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is damaged: {exc}") from exc
    if check != "ok":
        raise BackupError(f"{source} is damaged: {check}")
    if revision is None:
        raise BackupError(f"{source} has no schema revision")
    if revision[0] not in known_revisions():
        raise BackupError(f"{source} is at revision {revision[0]}, newer than this "
                          f"calendar-service knows ({head()}): install the newer version")
    return revision[0]


def _check_pg_backup(source: Path) -> tuple[str, str]:
    """The archive's table of contents, and the schema its tables are in."""
    listing = _run([_tool("pg_restore"), "--list", str(source)], {**os.environ},
                   f"reading {source}")
    found = re.search(r"TABLE DATA (\S+) alembic_version ", listing)
    if found is None or not re.search(r"TABLE DATA \S+ commemorations ", listing):
        raise BackupError(f"{source} is a pg_dump archive, but not a calendar-service backup "
                          f"(no alembic_version and commemorations tables)")
    return listing, found.group(1)


def _user_tables(database: Database, schema: str | None) -> list[str]:
    with database.engine.connect() as conn:
        if schema is None:
            return [r[0] for r in conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%'"))]
        return [r[0] for r in conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
            "AND table_type = 'BASE TABLE'"), {"s": schema})]


def _refuse_unless_empty(database: Database, force: bool, schema: str | None = None) -> None:
    if force or (database.file is not None and not database.file.exists()):
        return
    quote = database.engine.dialect.identifier_preparer.quote
    holding = []
    with database.engine.connect() as conn:
        for table in _user_tables(database, schema):
            if table in BOOKKEEPING:
                continue
            name = f"{quote(schema)}.{quote(table)}" if schema else quote(table)
            if conn.execute(text(f"SELECT 1 FROM {name} LIMIT 1")).first():
                holding.append(table)
    if holding:
        raise BackupError(f"the database {database.describe()} holds data "
                          f"({', '.join(sorted(holding)[:4])}"
                          f"{', …' if len(holding) > 4 else ''}); "
                          f"restore --force replaces it (back it up first)")


def _sqlite_restore(source: Path, database: Database) -> None:
    database.engine.dispose()
    database.create_file()
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(database.file, timeout=30)
    try:
        dst.execute("PRAGMA busy_timeout=30000")
        with dst:
            src.backup(dst)  # page by page under one lock: readers see old or new, whole
        dst.execute("PRAGMA journal_mode=WAL")  # as the service opens it
    except sqlite3.Error as exc:
        raise BackupError(f"cannot write {database.file}: {exc}") from exc
    finally:
        dst.close()
        src.close()


def _pg_restore(database: Database, source: Path, listing: str, schema: str) -> None:
    """One transaction through psql: drop the schema's tables, then the archive's SQL (its
    schema entry left out: the schema exists)."""
    pg_restore, psql = _tool("pg_restore"), _tool("psql")
    uri, env = _libpq(database)
    quote = database.engine.dialect.identifier_preparer.quote
    drops = "".join(f"DROP TABLE IF EXISTS {quote(schema)}.{quote(t)} CASCADE;\n"
                    for t in _user_tables(database, schema))
    with tempfile.TemporaryDirectory(prefix="calendar-restore-") as work:
        wanted = Path(work, "list")
        wanted.write_text("".join(line + "\n" for line in listing.splitlines()
                                  if not re.search(r"\d+ SCHEMA - ", line)))
        script = _run([pg_restore, "--no-owner", "--no-acl", f"--use-list={wanted}",
                       "--file=-", str(source)], env, f"reading {source}")
    database.engine.dispose()
    _run([psql, "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--single-transaction",
          "--file=-", f"--dbname={uri}"], env, "restoring with psql", input=drops + script)
