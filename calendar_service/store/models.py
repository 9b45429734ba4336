"""The store's tables (SQLAlchemy 2.0 typed ORM). Schema changes go through migrations/."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names, so Alembic migrations look the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite has no timezone type)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


ACTIVE = "active"
CANCELLED = "cancelled"


class CommemorationRow(Base):
    __tablename__ = "commemorations"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(40))
    origin_year: Mapped[int | None] = mapped_column(Integer)  # None: a yearly observance
    origin_month: Mapped[int | None] = mapped_column(Integer)
    origin_day: Mapped[int | None] = mapped_column(Integer)
    # A lunar origin (origin_month and origin_day are then NULL); see catalogue.LunarDay.
    lunar_month: Mapped[int | None] = mapped_column(Integer)
    lunar_day: Mapped[int | None] = mapped_column(Integer)
    lunar_leap: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    lead_days: Mapped[list[int] | None] = mapped_column(JSON)
    # "national" or "local" (catalogue.model.SCOPES): rankings put national first.
    scope: Mapped[str] = mapped_column(String(16), default="national",
                                       server_default="national")
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    # An administrator cancelled it (the entry may still be in the files): reloading an
    # unchanged file must not restore it. Cleared when the file's entry changes or vanishes.
    cancelled_by_admin: Mapped[bool] = mapped_column(Boolean, default=False,
                                                     server_default=false())
    # Bumped on every change that subscribers should see (iCalendar SEQUENCE).
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # Hash of the catalogue entry as last loaded: how `load` knows nothing changed.
    fingerprint: Mapped[str] = mapped_column(String(64))
    source_file: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    designations: Mapped[list[DesignationRow]] = relationship(
        back_populates="commemoration", cascade="all, delete-orphan", lazy="selectin",
        order_by="[DesignationRow.year, DesignationRow.directive_id]")
    observances: Mapped[list[ObservanceRow]] = relationship(
        back_populates="commemoration", cascade="all, delete-orphan", lazy="selectin",
        order_by="ObservanceRow.year")

    __table_args__ = (
        # Range queries ("what falls between 20/4 and 20/7") filter on month and day.
        Index("ix_commemorations_month_day", "origin_month", "origin_day"),
        Index("ix_commemorations_category", "category"),
    )


class DesignationRow(Base):
    """A directive names this commemoration's occurrence in its year, with the ordinal it
    gives: (directive, year, commemoration, ordinal). Several directives may name one
    commemoration."""

    __tablename__ = "designations"

    commemoration_id: Mapped[str] = mapped_column(
        ForeignKey("commemorations.id", ondelete="CASCADE"), primary_key=True)
    directive_id: Mapped[str] = mapped_column(
        ForeignKey("directives.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)  # the directive's year, kept for queries
    ordinal: Mapped[int | None] = mapped_column(Integer)  # None: no historical year (Tết)
    commemoration: Mapped[CommemorationRow] = relationship(back_populates="designations")
    directive: Mapped[DirectiveRow] = relationship(lazy="joined")

    __table_args__ = (Index("ix_designations_year", "year"),)


class ObservanceRow(Base):
    """The day chosen for a year's ceremony (year-only origins, or a moved ceremony)."""

    __tablename__ = "observances"

    commemoration_id: Mapped[str] = mapped_column(
        ForeignKey("commemorations.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    observed_on: Mapped[date]
    commemoration: Mapped[CommemorationRow] = relationship(back_populates="observances")


class DirectiveRow(Base):
    """A directive: the [catalogue] header of a file that designates a year, as last loaded
    (what the pages name in a badge, and what the admin's export writes back)."""

    __tablename__ = "directives"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    directive: Mapped[str] = mapped_column(Text)
    theme: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(String(300))  # the badge's short name
    source: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(16), default="national",
                                       server_default="national")
    source_file: Mapped[str | None] = mapped_column(String(500))


class RenameRow(Base):
    """A place or agency renamed (or merged into another) since a date, as `load` last read
    it (`[[rename]]`): pages, feed, API and plans show today's name beside the old one."""

    __tablename__ = "renames"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    old: Mapped[str] = mapped_column(String(300))
    new: Mapped[str] = mapped_column(String(300))
    since: Mapped[date]
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)
    source_file: Mapped[str | None] = mapped_column(String(500))


class StoreState(Base):
    """One row. `data_version` rises whenever commemorations change, so caches (the rendered
    feed) can be checked with a single cheap query."""

    __tablename__ = "store_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AgencyRow(Base):
    """An agency of the directive's section II, as `load` last read it (`[[agency]]`)."""

    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    short_names: Mapped[list[str]] = mapped_column(JSON)
    role: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text)
    emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    # Gone from the files: kept (tasks and accounts refer to it), no longer offered.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The secret in the address of the agency's private task feed; rotated on demand.
    feed_token: Mapped[str] = mapped_column(String(64), unique=True)
    source_file: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def short(self) -> str:
        return self.short_names[0] if self.short_names else self.id


class PlanTemplateRow(Base):
    """A plan template as `load` last read it (`[[template]]`), in file order: plan
    generation reads them from here, so it works from the database alone."""

    __tablename__ = "plan_templates"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    # Everything else of the template (selectors, notice days, activities), as JSON.
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_file: Mapped[str | None] = mapped_column(String(500))
