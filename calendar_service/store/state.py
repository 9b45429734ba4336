"""The store's data version: one integer that every cache can compare cheaply."""

from __future__ import annotations

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
