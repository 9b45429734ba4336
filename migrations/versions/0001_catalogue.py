"""Commemorations, their designations and observances, and the store's data version.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from calendar_service.store.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "commemorations",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("origin_year", sa.Integer(), nullable=False),
        sa.Column("origin_month", sa.Integer(), nullable=True),
        sa.Column("origin_day", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("lead_days", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("source_file", sa.String(500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commemorations")),
    )
    op.create_index("ix_commemorations_month_day", "commemorations",
                    ["origin_month", "origin_day"])
    op.create_index("ix_commemorations_category", "commemorations", ["category"])
    op.create_table(
        "designations",
        sa.Column("commemoration_id", sa.String(80), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["commemoration_id"], ["commemorations.id"],
                                name=op.f("fk_designations_commemoration_id_commemorations"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("commemoration_id", "year", name=op.f("pk_designations")),
    )
    op.create_table(
        "observances",
        sa.Column("commemoration_id", sa.String(80), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["commemoration_id"], ["commemorations.id"],
                                name=op.f("fk_observances_commemoration_id_commemorations"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("commemoration_id", "year", name=op.f("pk_observances")),
    )
    state = op.create_table(
        "store_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_state")),
    )
    op.bulk_insert(state, [{"id": 1, "data_version": 0, "updated_at": None}])


def downgrade() -> None:
    op.drop_table("store_state")
    op.drop_table("observances")
    op.drop_table("designations")
    op.drop_index("ix_commemorations_category", table_name="commemorations")
    op.drop_index("ix_commemorations_month_day", table_name="commemorations")
    op.drop_table("commemorations")
