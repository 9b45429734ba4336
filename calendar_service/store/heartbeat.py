"""Heartbeats: one row per named background job (`tick`, `publish`, …) saying when it last
started, finished and succeeded, whether its last run was ok, its last error and a small
detail (duration, counts, bytes). `/readyz` and `/metrics` read them, so what a scheduler
process did is visible from any web worker, on any machine, without a shared memory.

Below the features, so that every job records itself the same way (migration 0008).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String, Text, case, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base, UTCDateTime

NAME_MAX = 40
ERROR_MAX = 2000  # characters of an error kept: enough for a traceback's last line, bounded
DETAIL_MAX = 2000  # characters of the detail as JSON
HOST_MAX = 200


class HeartbeatRow(Base):
    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(NAME_MAX), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last failure's text and moment; kept after a later success, for the operator.
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last run's detail: {"duration_seconds": 0.8, "sent": 3, "bytes": 120345, …}.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Which process reported it ("host:pid"): with two schedulers, which one ran.
    host: Mapped[str | None] = mapped_column(String(HOST_MAX))


@dataclass(frozen=True, slots=True)
class Heartbeat:
    name: str
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_success_at: datetime | None
    ok: bool
    last_error: str | None
    last_error_at: datetime | None
    detail: dict[str, Any]
    host: str | None

    @property
    def running(self) -> bool:
        """Started after its last finish: a run is in progress (or died in flight)."""
        return self.last_started_at is not None and (
            self.last_finished_at is None or self.last_started_at > self.last_finished_at)

    @property
    def duration_seconds(self) -> float | None:
        """The last run's duration: as measured by the job, else finish minus start."""
        measured = self.detail.get("duration_seconds")
        if isinstance(measured, int | float) and not isinstance(measured, bool):
            return float(measured)
        if self.last_started_at and self.last_finished_at and not self.running:
            return (self.last_finished_at - self.last_started_at).total_seconds()
        return None


def _insert(session: Session):
    dialect = session.connection().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(HeartbeatRow)


def _check_name(name: str) -> str:
    if not name or len(name) > NAME_MAX or not name.replace("-", "").replace("_", "").isalnum() \
            or not name.isascii():
        raise ValueError(f"heartbeat name must be 1-{NAME_MAX} ASCII letters, digits, - or _: "
                         f"{name!r}")
    return name


def _bounded_detail(detail: dict[str, Any] | None) -> dict[str, Any] | None:
    if detail is None:
        return None
    text = json.dumps(detail, ensure_ascii=False)  # JSON-able, or a TypeError naming it
    if len(text) > DETAIL_MAX:
        raise ValueError(f"heartbeat detail is {len(text)} characters as JSON, over "
                         f"{DETAIL_MAX}: keep it to figures")
    return json.loads(text)


def _whoami() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:HOST_MAX]


def begin(session: Session, name: str, *, started: datetime) -> None:
    """Record that a run started (so a long run is seen as running, not as stale)."""
    statement = _insert(session).values(name=_check_name(name), last_started_at=started,
                                        ok=False, host=_whoami())
    session.execute(statement.on_conflict_do_update(
        index_elements=["name"],
        set_={"last_started_at": statement.excluded.last_started_at,
              "host": statement.excluded.host},
        # Two schedulers: a late report of an older start never hides a newer one.
        where=(HeartbeatRow.last_started_at.is_(None))
        | (HeartbeatRow.last_started_at <= statement.excluded.last_started_at)))


def beat(session: Session, name: str, *, started: datetime, finished: datetime, ok: bool,
         error: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """Record one finished run of job `name`, in the caller's transaction. One UPSERT
    (ON CONFLICT on the name), safe when two schedulers report at once on PostgreSQL or
    SQLite: the row ends with the run that finished last."""
    _check_name(name)
    if error is not None:
        error = error[:ERROR_MAX]
    values: dict[str, Any] = {
        "name": name, "last_started_at": started, "last_finished_at": finished, "ok": ok,
        "detail": _bounded_detail(detail), "host": _whoami(),
        "last_success_at": finished if ok else None,
        "last_error": None if ok else (error or "failed"),
        "last_error_at": None if ok else finished,
    }
    statement = _insert(session).values(**values)
    excluded = statement.excluded
    update = {"last_finished_at": excluded.last_finished_at, "ok": excluded.ok,
              "detail": excluded.detail, "host": excluded.host}
    if ok:
        update["last_success_at"] = excluded.last_success_at
    else:
        update["last_error"] = excluded.last_error
        update["last_error_at"] = excluded.last_error_at
    # A newer start recorded by begin() stays (that run is in progress).
    update["last_started_at"] = _greatest(HeartbeatRow.last_started_at, excluded.last_started_at)
    session.execute(statement.on_conflict_do_update(
        index_elements=["name"], set_=update,
        # A run that finished before the one already recorded does not overwrite it.
        where=(HeartbeatRow.last_finished_at.is_(None))
        | (HeartbeatRow.last_finished_at <= excluded.last_finished_at)))


def _greatest(column, value):
    return case((column.is_(None), value), (column > value, column), else_=value)


COLUMNS = (HeartbeatRow.name, HeartbeatRow.last_started_at, HeartbeatRow.last_finished_at,
           HeartbeatRow.last_success_at, HeartbeatRow.ok, HeartbeatRow.last_error,
           HeartbeatRow.last_error_at, HeartbeatRow.detail, HeartbeatRow.host)


def _heartbeat(row) -> Heartbeat:
    return Heartbeat(name=row.name, last_started_at=row.last_started_at,
                     last_finished_at=row.last_finished_at,
                     last_success_at=row.last_success_at, ok=bool(row.ok),
                     last_error=row.last_error, last_error_at=row.last_error_at,
                     detail=dict(row.detail or {}), host=row.host)


def read_all(session: Session) -> dict[str, Heartbeat]:
    """Every job's heartbeat, by name (a handful of rows: cheap enough for every scrape)."""
    return {row.name: _heartbeat(row)
            for row in session.execute(select(*COLUMNS).order_by(HeartbeatRow.name))}


def read(session: Session, name: str) -> Heartbeat | None:
    row = session.execute(select(*COLUMNS).where(HeartbeatRow.name == name)).first()
    return None if row is None else _heartbeat(row)
