"""Lunar origins (issue 12): a commemoration may recur on a Vietnamese lunar day
(lunar_month, lunar_day, lunar_leap) and may have no historical year (origin_year NULL: a
yearly observance such as Tết, without ordinal).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("commemorations") as batch:  # batch: SQLite cannot ALTER in place
        batch.alter_column("origin_year", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("lunar_month", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lunar_day", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lunar_leap", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    # A yearly observance has no year to give the old schema: refuse rather than lose it.
    yearless = op.get_bind().execute(sa.text(
        "SELECT id FROM commemorations WHERE origin_year IS NULL ORDER BY id")).scalars().all()
    if yearless:
        raise RuntimeError("cannot downgrade below 0009: the old schema requires a year, and "
                           "these observances have none: " + ", ".join(yearless))
    # Lunar entries with a year become year-only ones (their lunar day is gone with the
    # columns): the old schema's nearest meaning.
    with op.batch_alter_table("commemorations") as batch:
        batch.drop_column("lunar_leap")
        batch.drop_column("lunar_day")
        batch.drop_column("lunar_month")
        batch.alter_column("origin_year", existing_type=sa.Integer(), nullable=False)
