"""Admin area: accounts, the audit log, catalogue headers, and admin cancellations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from calendar_service.store.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_users")),
        sa.UniqueConstraint("username", name=op.f("uq_admin_users_username")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("commemoration_id", sa.String(80), nullable=True),
        sa.Column("subject", sa.String(320), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_commemoration_id", "audit_log", ["commemoration_id"])
    op.create_table(
        "directives",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("directive", sa.Text(), nullable=False),
        sa.Column("theme", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("source_file", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_directives")),
    )
    with op.batch_alter_table("commemorations") as batch:
        batch.add_column(sa.Column("cancelled_by_admin", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("commemorations") as batch:
        batch.drop_column("cancelled_by_admin")
    op.drop_table("directives")
    op.drop_index("ix_audit_log_commemoration_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("admin_users")
