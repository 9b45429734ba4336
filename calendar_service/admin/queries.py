"""Paged read queries for the admin pages (narrow columns: the lists stay fast at 20,000)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..delivery.models import DeliveryRow
from ..plans.models import TaskRow
from ..reminders.models import SubscriberRow
from ..store.models import CommemorationRow
from ..store.paging import Page, paged


def commemorations(session: Session, number: int, per_page: int) -> Page[Any]:
    c = CommemorationRow
    query = select(c.id, c.title, c.category, c.origin_year, c.origin_month, c.origin_day,
                   c.lunar_month, c.lunar_day, c.lunar_leap, c.status, c.cancelled_by_admin, c.revision, c.updated_at).order_by(c.id)
    return paged(session, query, number, per_page)


def subscribers(session: Session, number: int, per_page: int, *, q: str | None = None
                ) -> Page[Any]:
    """Subscribers by address; `q` matches part of the address, name or organisation."""
    s = SubscriberRow
    query = select(s.id, s.email, s.name, s.organisation, s.categories, s.scope, s.active,
                   s.confirmed_at, s.receives.label("receives"), s.created_at,
                   s.email_enabled).order_by(s.email)
    if q:
        # As typed, and lower-cased (SQLite's lower() folds only ASCII letters: "Đ" stays).
        typed, lowered = _like(q), _like(q.lower())
        query = query.where(or_(*(
            condition for column in (s.email, s.name, s.organisation)
            for condition in (column.like(typed, escape="\\"),
                              func.lower(column).like(lowered, escape="\\")))))
    return paged(session, query, number, per_page)


def _like(text: str) -> str:
    """A LIKE pattern for `text` anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def deliveries(session: Session, number: int, per_page: int, *, status: str | None = None,
               subscriber_id: int | None = None) -> Page[Any]:
    d = DeliveryRow
    # Every kind of notice: a reminder names its subscriber and commemoration, a task
    # notice or digest its address, agency and task (outer joins keep both).
    query = (select(d.id, d.kind, d.status, d.attempts, d.last_error, d.sent_at,
                    d.message_id, d.channel, d.lead_days, d.year, d.occurrence_date, d.due_at,
                    d.commemoration_id, d.subscriber_id, d.address, d.notice_key, d.task_id,
                    d.agency_id, SubscriberRow.email, CommemorationRow.title,
                    TaskRow.title.label("task_title"))
             .outerjoin(SubscriberRow, SubscriberRow.id == d.subscriber_id)
             .outerjoin(CommemorationRow, CommemorationRow.id == d.commemoration_id)
             .outerjoin(TaskRow, TaskRow.id == d.task_id)
             .order_by(d.due_at.desc(), d.id.desc()))
    if status:
        query = query.where(d.status == status)
    if subscriber_id is not None:
        query = query.where(d.subscriber_id == subscriber_id)
    return paged(session, query, number, per_page)
