"""The delivery ledger: one row per notice to one recipient on one channel, whatever its kind
(migrations 0002 and 0006). What makes every notice "sent once": planners insert rows with a
unique key and ON CONFLICT DO NOTHING, the dispatcher claims them atomically before sending
and records each result (dispatch.py)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..store.models import Base, UTCDateTime

# Status of a delivery.
PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
# Channels (delivery/channels/): stored in every row, part of the unique keys.
EMAIL, WEBHOOK = "email", "webhook"
# Kinds of notice. A reminder names its subscriber and occurrence; the others name their
# agency, the address they go to, and a `notice_key` saying which notice this is.
REMINDER = "reminder"  # a commemoration, N days ahead, to a subscriber
TASK_NOTICE = "task"  # a task due in N days, or overdue, to its agency's contacts
DIGEST = "digest"  # an agency's weekly digest of its tasks


class DeliveryRow(Base):
    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default=REMINDER,
                                      server_default=REMINDER)
    # A reminder's key: subscriber, occurrence, lead time (and channel).
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"))
    commemoration_id: Mapped[str | None] = mapped_column(
        ForeignKey("commemorations.id", ondelete="CASCADE"))
    year: Mapped[int | None] = mapped_column(Integer)
    occurrence_date: Mapped[date | None]
    lead_days: Mapped[int | None] = mapped_column(Integer)
    # A task notice's or a digest's key: which notice (e.g. "task:12:due:2024-05-07:7d"),
    # to which address (an agency contact's e-mail or the agency's webhook).
    notice_key: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(1000))
    agency_id: Mapped[str | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16), default=EMAIL)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("subscriber_id", "commemoration_id", "year", "occurrence_date",
                         "lead_days", "channel", name="uq_deliveries_key"),
        # Reminders leave notice_key NULL, and NULLs never clash: this key is the notices'.
        UniqueConstraint("kind", "notice_key", "channel", "address",
                         name="uq_deliveries_notice"),
        # The dispatcher's claim query: pending rows whose next attempt is due.
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )
