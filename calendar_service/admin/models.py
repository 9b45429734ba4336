"""Admin accounts (migration 0003; the agency of a member: 0005) and their sessions
(0007)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..store.models import Base, UTCDateTime


class AdminUser(Base):
    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Consecutive failures since the last success or lock; reaching the limit locks.
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None: an administrator (everything); an agency's id: a member of that agency, who sees
    # every plan and edits its own agency's tasks.
    agency_id: Mapped[str | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT"))

    @property
    def is_administrator(self) -> bool:
        return self.agency_id is None


class AdminSession(Base):
    """One signed-in browser. The cookie holds a random token; the row holds its SHA-256
    (a copy of the table opens no session). Deleting the row ends the session at once:
    logout deletes it, a new password or a lock deletes every row of the account, and
    removing the account deletes them with it (ON DELETE CASCADE)."""

    __tablename__ = "admin_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
