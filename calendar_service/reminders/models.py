"""Subscribers: the reminder feature's table (migration 0002). Their deliveries are rows of
the delivery ledger (delivery/models.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    String,
    Text,
    and_,
    true,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..delivery.models import DeliveryRow
from ..store.models import Base, UTCDateTime

# Subscriber scope: which occurrences they hear about.
SCOPE_NOTABLE = "notable"  # designated by a directive, or a round anniversary (the default)
SCOPE_ALL = "all"
SCOPES = (SCOPE_NOTABLE, SCOPE_ALL)

# The global chat channel is a subscriber of its own, kept in step with the settings by
# every tick: its address is reserved (RFC 2606 .invalid) and never mailed.
GLOBAL_WEBHOOK_EMAIL = "kenh-chat-chung@calendar-service.invalid"



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

    # Deleted with the subscriber by the database (ON DELETE CASCADE).
    deliveries: Mapped[list[DeliveryRow]] = relationship(passive_deletes=True)

    @hybrid_property
    def receives(self) -> bool:
        """Active and confirmed: the one definition of "gets reminders", in Python and, as
        the expression below, in SQL."""
        return self.active and self.confirmed_at is not None

    @receives.inplace.expression
    @classmethod
    def _receives(cls):
        return and_(cls.active.is_(True), cls.confirmed_at.is_not(None))
