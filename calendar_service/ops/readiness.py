"""Readiness: is this deployment doing its job? Four checks, each named in the answer:

- `database`: the database answers;
- `migrations`: its Alembic revision is the code's head (`db upgrade` was run);
- `scheduler`: the reminder tick's heartbeat is younger than 3 tick intervals (a tick in
  progress counts from its start), read with the service's clock;
- `publish`: the last feed publish was ok — when publishing is configured (a publish
  folder is set, or a publish has ever been recorded); otherwise skipped.

Cheap and bounded: one connection (PostgreSQL: a connect timeout and a statement timeout),
one row of `alembic_version`, the heartbeats' handful of rows; the code's head revision is
read once per process. No secrets: a database failure is named by its kind only (the
full message goes to the log), a job's error text stays in the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..app_context import Services
from ..config import Settings
from ..store import heartbeat
from ..store.migrate import alembic_config

log = logging.getLogger("calendar_service.ops")

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
TICK, PUBLISH = "tick", "publish"  # the heartbeats' names (reminders/scheduler.py, feeds)
STALE_TICKS = 3  # a tick older than this many intervals means the scheduler is not working
STATEMENT_TIMEOUT_MS = 2000


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str  # ok, failed or skipped
    detail: str


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: list[Check]
    # The heartbeats read on the way, for /metrics (not part of the JSON answer).
    heartbeats: dict[str, heartbeat.Heartbeat] = field(default_factory=dict)
    database_ok: bool = True
    also: Any = None  # what check(also=…) read on the same connection

    @property
    def ready(self) -> bool:
        return all(c.status != FAILED for c in self.checks)

    def as_json(self) -> dict:
        return {"status": "ready" if self.ready else "unavailable",
                "checks": [asdict(c) for c in self.checks]}


@cache
def code_heads() -> tuple[str, ...]:
    """The migrations' head revision(s) this code expects (read once per process)."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config(None)).get_heads()))


def tick_interval(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.tick_seconds)


def publishing_configured(settings: Settings) -> bool:
    """CALENDAR_PUBLISH_DIR is set: nginx serves the published feeds, they must be fresh.
    (Without it the scheduler still publishes into CALENDAR_HOME; its heartbeat, once
    there, is checked all the same.)"""
    return settings.publish_dir is not None


def check(services: Services, also: Callable[[Connection], Any] | None = None) -> Readiness:
    """The checks; `also` reads more on the same connection (and under the same statement
    timeout) when the database is migrated, for /metrics."""
    now = services.clock.now()
    extra = None
    try:
        with services.database.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
            revisions = _revisions(conn)
            beats = _heartbeats(conn, revisions)
            if also is not None and revisions:
                try:
                    with conn.begin_nested():
                        extra = also(conn)
                except SQLAlchemyError:
                    log.warning("readiness: reading more for /metrics failed", exc_info=True)
            conn.rollback()  # read only
    except SQLAlchemyError as exc:
        log.warning("readiness: the database does not answer: %s",
                    str(exc.__cause__ or exc).splitlines()[0])
        unknown = "not checked: the database does not answer"
        return Readiness(database_ok=False, checks=[
            Check("database", FAILED, f"does not answer ({type(exc.__cause__ or exc).__name__})"),
            Check("migrations", FAILED, unknown),
            Check("scheduler", FAILED, unknown),
            Check("publish", FAILED if publishing_configured(services.settings) else SKIPPED,
                  unknown)])
    checks = [Check("database", OK, "answers"), _migrations(revisions)]
    checks.append(_scheduler(beats.get(TICK), now, tick_interval(services.settings)))
    checks.append(_publish(beats.get(PUBLISH), publishing_configured(services.settings)))
    return Readiness(checks, beats, also=extra)


def _revisions(conn) -> tuple[str, ...]:
    """The database's Alembic revision(s), read directly (alembic's MigrationContext would
    log two lines on every probe)."""
    if not inspect(conn).has_table("alembic_version"):
        return ()
    return tuple(sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()))


def _heartbeats(conn, revisions) -> dict[str, heartbeat.Heartbeat]:
    if not revisions:
        return {}  # not migrated: no heartbeats table to read
    try:
        # A savepoint: on PostgreSQL a failed read would end the transaction for the rest.
        with conn.begin_nested(), Session(bind=conn) as session:
            return heartbeat.read_all(session)
    except SQLAlchemyError:
        # Migrated, but to a revision before the heartbeats: the migrations check says so.
        return {}


def _migrations(revisions: tuple[str, ...]) -> Check:
    heads = code_heads()
    if revisions == heads:
        return Check("migrations", OK, f"at {', '.join(heads)}")
    if not revisions:
        return Check("migrations", FAILED,
                     f"the database is not migrated; run `calendar-service db upgrade` "
                     f"(code expects {', '.join(heads)})")
    return Check("migrations", FAILED,
                 f"the database is at {', '.join(revisions)}, the code expects "
                 f"{', '.join(heads)}; run `calendar-service db upgrade`")


def _ago(then: datetime, now: datetime) -> str:
    seconds = int((now - then).total_seconds())
    return f"{then.isoformat(timespec='seconds')} ({seconds} s ago)"


def _scheduler(tick: heartbeat.Heartbeat | None, now: datetime, interval: timedelta) -> Check:
    """Fresh: a successful tick, or a tick still running, within STALE_TICKS intervals."""
    limit = interval * STALE_TICKS
    if tick is None:
        return Check("scheduler", FAILED, "no tick recorded yet: is `calendar-service "
                     "scheduler` (or `serve` with its scheduler) running?")
    fresh = [t for t in (tick.last_success_at,
                         tick.last_started_at if tick.running else None) if t is not None]
    latest = max(fresh) if fresh else None
    if latest is None or now - latest > limit:
        failed = "" if tick.ok or tick.last_finished_at is None else \
            f"; the last tick failed at {tick.last_finished_at.isoformat(timespec='seconds')}"
        return Check("scheduler", FAILED,
                     f"last successful tick {_ago(latest, now) if latest else 'never'}, "
                     f"older than {STALE_TICKS} intervals ({int(limit.total_seconds())} s)"
                     f"{failed}")
    if tick.running:
        return Check("scheduler", OK, f"a tick running since {_ago(tick.last_started_at, now)}")
    note = "" if tick.ok else " (the last tick failed: see the scheduler's log)"
    return Check("scheduler", OK, f"last successful tick {_ago(latest, now)}{note}")


def _publish(publish: heartbeat.Heartbeat | None, configured: bool) -> Check:
    if publish is None:
        if configured:
            return Check("publish", FAILED, "publishing is configured but no publish has "
                         "been recorded yet")
        return Check("publish", SKIPPED, "publishing is not configured")
    when = publish.last_finished_at.isoformat(timespec="seconds") \
        if publish.last_finished_at else "never"
    if not publish.ok:
        return Check("publish", FAILED, f"the last publish failed at {when} (see the log)")
    return Check("publish", OK, f"last publish ok at {when}")
