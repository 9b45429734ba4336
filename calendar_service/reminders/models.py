"""Subscribers and deliveries: the reminder feature's tables (migration 0002)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    true,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..store.models import Base, UTCDateTime

# Subscriber scope: which occurrences they hear about.
SCOPE_NOTABLE = "notable"  # designated by a directive, or a round anniversary (the default)
SCOPE_ALL = "all"
SCOPES = (SCOPE_NOTABLE, SCOPE_ALL)

# The global chat channel is a subscriber of its own, kept in step with the settings by
# every tick: its address is reserved (RFC 2606 .invalid) and never mailed.
GLOBAL_WEBHOOK_EMAIL = "kenh-chat-chung@calendar-service.invalid"

# Delivery status.
PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
EMAIL, WEBHOOK = "email", "webhook"


class SubscriberRow(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    organisation: Mapped[str | None] = mapped_column(String(200))
    categories: Mapped[list[str] | None] = mapped_column(JSON)  # None: every category
    scope: Mapped[str] = mapped_column(String(16), default=SCOPE_NOTABLE)
    lead_days: Mapped[list[int] | None] = mapped_column(JSON)  # None: the catalogue's
    webhook_url: Mapped[str | None] = mapped_column(Text)
    # False only for the global chat channel (CALENDAR_WEBHOOK_URL): webhook, no e-mail.
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None until the address is confirmed (double opt-in); nothing is sent before that.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last sign-up confirmation e-mail: a form re-posted sends no second one for a while.
    # Its link carries this moment and works only while it is still here (single use).
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who stopped the sending, when an administrator did (migration 0007): no confirmation
    # link or new sign-up undoes that; only an administrator's reactivation does.
    deactivated_by: Mapped[str | None] = mapped_column(String(80))

    deliveries: Mapped[list[DeliveryRow]] = relationship(back_populates="subscriber",
                                                         passive_deletes=True)

    @hybrid_property
    def receives(self) -> bool:
        """Active and confirmed: the one definition of "gets reminders", in Python and, as
        the expression below, in SQL."""
        return self.active and self.confirmed_at is not None

    @receives.inplace.expression
    @classmethod
    def _receives(cls):
        return and_(cls.active.is_(True), cls.confirmed_at.is_not(None))


class DeliveryRow(Base):
    """One reminder to one subscriber, for one occurrence and lead time, on one channel.

    The unique key is what makes a reminder "sent once": planning inserts with ON CONFLICT DO
    NOTHING, and the dispatcher claims rows atomically before sending.
    """

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"))
    commemoration_id: Mapped[str] = mapped_column(
        ForeignKey("commemorations.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    occurrence_date: Mapped[date]
    lead_days: Mapped[int] = mapped_column(Integer)
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

    subscriber: Mapped[SubscriberRow] = relationship(back_populates="deliveries")

    __table_args__ = (
        UniqueConstraint("subscriber_id", "commemoration_id", "year", "occurrence_date",
                         "lead_days", "channel", name="uq_deliveries_key"),
        # The dispatcher's claim query: pending rows whose next attempt is due.
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )
