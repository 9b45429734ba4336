"""Engines and sessions. SQLite gets WAL and a busy timeout so the web app and the
scheduler can share the file; PostgreSQL is used through psycopg 3.

A database opened with `create=False` (what the commands and the web app use) never makes
a SQLite file appear: only `db upgrade` and `restore` create one (`create_file`), so a
command run in the wrong folder says so instead of leaving an empty file behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

CONNECT_TIMEOUT = 10  # seconds, PostgreSQL (libpq's connect_timeout) unless the URL says


class DriverMissing(Exception):
    """The database's driver is not installed; the message says what to install."""


def sqlite_file(url: str) -> Path | None:
    """The file a sqlite:/// URL names (absolute), or None (another database, :memory:)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    return Path(database).resolve()


def make_engine(url: str, create: bool = True, **kwargs) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None and create:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        if path is not None and not create:
            @event.listens_for(engine, "do_connect")
            def _open_existing(dialect, record, cargs, cparams) -> None:
                # mode=rw: a missing file is an error, never a new empty database.
                cargs[:] = [f"file:{quote(str(path))}?mode=rw"]
                cparams["uri"] = True

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            # With WAL, NORMAL never corrupts and only risks the last commits on power loss;
            # FULL would fsync every delivery's commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        # A database host that drops packets must not hang a request, a probe or a tick
        # for the system's TCP timeout (minutes): fail after this many seconds instead.
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT,
                                  **kwargs.get("connect_args", {})}
    try:
        return create_engine(url, pool_pre_ping=True, **kwargs)
    except ModuleNotFoundError as exc:  # the dialect imports its driver here
        raise DriverMissing(
            f"the database driver {exc.name} is not installed: "
            f"pip install 'psycopg[binary]' (or reinstall calendar-service)") from exc


class Database:
    def __init__(self, url: str, create: bool = True, **engine_kwargs) -> None:
        self.url = url
        self.file = sqlite_file(url)
        self.engine = make_engine(url, create=create, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_file(self) -> None:
        """Make the SQLite file (and its folder) if it is missing: `db upgrade` and
        `restore` are the commands that may start a database."""
        if self.file is not None and not self.file.exists():
            self.file.parent.mkdir(parents=True, exist_ok=True)
            self.file.touch()  # an empty file is an empty SQLite database

    def describe(self) -> str:
        """The database for a message: the file, or the URL without its password."""
        return str(self.file) if self.file is not None else \
            self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def ping(self) -> str | None:
        """None when the database answers, else the reason it does not."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return None
        except SQLAlchemyError as exc:
            return str(exc.__cause__ or exc).splitlines()[0]

    def dispose(self) -> None:
        self.engine.dispose()
