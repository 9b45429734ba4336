"""The store's data version: one integer that every cache can compare cheaply."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .models import StoreState

STATE_ID = 1


def bump_data_version(session: Session, now: datetime) -> None:
    result = session.execute(
        update(StoreState).where(StoreState.id == STATE_ID)
        .values(data_version=StoreState.data_version + 1, updated_at=now))
    if result.rowcount == 0:  # the migration seeds the row; this covers a hand-made schema
        session.add(StoreState(id=STATE_ID, data_version=1, updated_at=now))


def data_version(session: Session) -> tuple[int, datetime | None]:
    row = session.execute(
        select(StoreState.data_version, StoreState.updated_at).where(StoreState.id == STATE_ID)
    ).first()
    return (row[0], row[1]) if row else (0, None)


class VersionWatch:
    """The store's data version as seen by one process, re-read at most every `ttl` seconds:
    caches compare it to decide whether they are still current (one tiny query at most)."""

    def __init__(self, database, ttl: float) -> None:
        self.database = database
        self.ttl = ttl
        self._version: int | None = None
        self._checked = 0.0

    def current(self) -> int:
        now = time.monotonic()
        if self._version is None or now - self._checked >= self.ttl:
            with self.database.session() as session:
                self._version = data_version(session)[0]
            self._checked = now
        return self._version

    def invalidate(self) -> None:
        """After a write in this process, so its own edits show at once."""
        self._version = None
