"""Tasks: the plans feature's table (migration 0005)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..store.models import Base, UTCDateTime

# Task status. "Overdue" is never stored: it is an open task whose due day has passed.
TODO, IN_PROGRESS, DONE, CANCELLED = "todo", "in_progress", "done", "cancelled"
STATUSES = {
    TODO: "Chưa làm",
    IN_PROGRESS: "Đang làm",
    DONE: "Đã xong",
    CANCELLED: "Đã hủy",
}
OPEN = (TODO, IN_PROGRESS)
MAX_LINKS = 20


class TaskRow(Base):
    """One activity of one occurrence for one responsible agency."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commemoration_id: Mapped[str] = mapped_column(
        ForeignKey("commemorations.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    # The template and activity that called for it; both None for a task added by hand.
    template_id: Mapped[str | None] = mapped_column(String(80))
    activity_key: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(500))
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    coordinating: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Days from the occurrence; None when the due day was set by hand (it then stays).
    due_offset: Mapped[int | None] = mapped_column(Integer)
    due_on: Mapped[date | None]  # None: to be decided (the occurrence has no day yet)
    window_offsets: Mapped[list[int] | None] = mapped_column(JSON)
    window_from: Mapped[date | None]
    window_to: Mapped[date | None]
    notice_days: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=TODO)
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    # The title was edited by hand: generation no longer rewrites it.
    title_edited: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped on every change an agency's calendar should see (its feed's SEQUENCE).
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(80))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def open(self) -> bool:
        return self.status in OPEN

    def overdue(self, today: date) -> bool:
        return self.open and self.due_on is not None and self.due_on < today

    __table_args__ = (
        # Generation's idempotency: one task per template activity and occurrence. Tasks
        # added by hand have no template (NULLs are distinct), so any number may exist.
        UniqueConstraint("commemoration_id", "year", "template_id", "activity_key",
                         name="uq_tasks_generated"),
        Index("ix_tasks_year_agency", "year", "agency_id"),
        Index("ix_tasks_due", "due_on"),
    )
