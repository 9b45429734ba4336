"""`calendar-service db upgrade`: Alembic, driven from code (no alembic.ini to keep in sync);
and the check every other command makes first: is the database there, and current?"""

from __future__ import annotations

import functools

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ..resources import MIGRATIONS
from .db import Database

UPGRADE_HINT = "run: calendar-service db upgrade"


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@functools.cache
def head() -> str:
    """The newest revision this version of calendar-service ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@functools.cache
def known_revisions() -> frozenset[str]:
    return frozenset(s.revision for s in ScriptDirectory.from_config(alembic_config())
                     .walk_revisions())


def schema_problem(database: Database, need_current: bool = True) -> str | None:
    """None when the database is there and migrated to `head()`, else what is wrong and what
    to do, in one line. `need_current=False`: any revision will do (a backup)."""
    if database.file is not None and not database.file.is_file():
        return (f"no database at {database.file} (CALENDAR_HOME, CALENDAR_DATABASE_URL); "
                f"create it: calendar-service db upgrade")
    try:
        found = current(database.engine)
    except SQLAlchemyError as exc:
        reason = str(exc.__cause__ or exc).splitlines()[0]
        return f"cannot open the database {database.describe()}: {reason}"
    if found is None:
        return f"the database {database.describe()} has no schema yet; {UPGRADE_HINT}"
    if found not in known_revisions():
        return (f"the database {database.describe()} is at revision {found}, newer than this "
                f"calendar-service knows ({head()}): install the newer calendar-service")
    if need_current and found != head():
        return (f"the database {database.describe()} is at revision {found}, this "
                f"calendar-service needs {head()}; back it up (calendar-service backup -o "
                f"FILE), then {UPGRADE_HINT}")
    return None
