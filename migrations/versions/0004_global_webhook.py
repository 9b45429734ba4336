"""Subscribers: receiving no e-mail (the global chat channel, CALENDAR_WEBHOOK_URL), and
when the last sign-up confirmation was sent (one per address per cooldown).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from calendar_service.store.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:  # batch: SQLite cannot ALTER in place
        batch.add_column(sa.Column("email_enabled", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column("confirmation_sent_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("confirmation_sent_at")
        batch.drop_column("email_enabled")
