"""Paged read queries for the admin pages (narrow columns: the lists stay fast at 20,000)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..reminders.models import DeliveryRow, SubscriberRow
from ..store.models import CommemorationRow

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    number: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _paged(session: Session, query: Select, number: int, per_page: int) -> Page[Any]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(query.offset((number - 1) * per_page).limit(per_page)).all()
    return Page(rows, total or 0, number, per_page)


def commemorations(session: Session, number: int, per_page: int) -> Page[Any]:
    c = CommemorationRow
    query = select(c.id, c.title, c.category, c.origin_year, c.origin_month, c.origin_day,
                   c.status, c.cancelled_by_admin, c.revision, c.updated_at).order_by(c.id)
    return _paged(session, query, number, per_page)


def deliveries(session: Session, number: int, per_page: int, *, status: str | None = None,
               subscriber_id: int | None = None) -> Page[Any]:
    d = DeliveryRow
    query = (select(d.id, d.status, d.attempts, d.last_error, d.sent_at, d.message_id,
                    d.channel, d.lead_days, d.year, d.occurrence_date, d.due_at,
                    d.commemoration_id, d.subscriber_id, SubscriberRow.email,
                    CommemorationRow.title)
             .join(SubscriberRow, SubscriberRow.id == d.subscriber_id)
             .join(CommemorationRow, CommemorationRow.id == d.commemoration_id)
             .order_by(d.due_at.desc(), d.id.desc()))
    if status:
        query = query.where(d.status == status)
    if subscriber_id is not None:
        query = query.where(d.subscriber_id == subscriber_id)
    return _paged(session, query, number, per_page)
