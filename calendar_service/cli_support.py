"""What every feature's commands share: the services built from the settings (or injected
by the tests through click's context object), a one-line failure, and the argument types
for days and moments."""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import NoReturn

import click

from .app_context import Services
from .config import ConfigError, Settings
from .store.db import DriverMissing
from .store.migrate import schema_problem

NO_DATABASE = 2  # the exit code of a command whose database is missing or not migrated


def services_of(ctx: click.Context, schema: str = "current") -> Services:
    """The services of this invocation, after checking the database is ready for it:
    `schema="current"` (the default) needs it migrated to this version, `"exists"` any
    revision (backup), `"none"` nothing (db upgrade, restore). Not ready: one line on
    stderr, exit 2, and nothing created."""
    root = ctx.find_root()
    if root.obj is None:
        try:
            root.obj = Services(Settings.from_env())
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
    services: Services = root.obj
    try:
        database = services.database
    except DriverMissing as exc:
        fail(f"error: {exc}", NO_DATABASE)
    if schema != "none" and schema not in root.meta.setdefault("calendar.checked", set()):
        problem = schema_problem(database, need_current=schema == "current")
        if problem is not None:
            fail(f"error: {problem}", NO_DATABASE)
        root.meta["calendar.checked"].add(schema)
    return services


def fail(message: str, code: int = 1) -> NoReturn:
    """Print to stderr and exit 1 (or `code`)."""
    click.echo(message, err=True)
    sys.exit(code)


def first_line(exc: BaseException) -> str:
    """A database error as one line: the driver's own message, without the SQL."""
    return str(getattr(exc, "__cause__", None) or exc).splitlines()[0]


class DateType(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date in the form YYYY-MM-DD", param, ctx)


class MomentType(click.ParamType):
    name = "DATETIME"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 moment such as 2024-04-30T08:00:00+07:00",
                      param, ctx)


def write_atomically(target: Path, body: bytes) -> None:
    """Beside the target, then renamed over it: a reader never sees half a file, and a
    failure leaves the previous file as it was."""
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                   suffix=".tmp")
    except OSError as exc:
        fail(f"error: cannot write {target}: {exc.strerror or exc}")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        fail(f"error: cannot write {target}: {exc.strerror or exc}")
