"""Communications plans: agencies and plan templates (from the catalogue files), tasks, and
the agency of an account's member.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from calendar_service.store.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("short_names", sa.JSON(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("feed_token", sa.String(64), nullable=False),
        sa.Column("source_file", sa.String(500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
        sa.UniqueConstraint("feed_token", name=op.f("uq_agencies_feed_token")),
    )
    op.create_table(
        "plan_templates",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("source_file", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_templates")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commemoration_id", sa.String(80), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(80), nullable=True),
        sa.Column("activity_key", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("agency_id", sa.String(80), nullable=False),
        sa.Column("coordinating", sa.JSON(), nullable=False),
        sa.Column("due_offset", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("window_offsets", sa.JSON(), nullable=True),
        sa.Column("window_from", sa.Date(), nullable=True),
        sa.Column("window_to", sa.Date(), nullable=True),
        sa.Column("notice_days", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("title_edited", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["commemoration_id"], ["commemorations.id"],
                                name=op.f("fk_tasks_commemoration_id_commemorations"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"],
                                name=op.f("fk_tasks_agency_id_agencies"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("commemoration_id", "year", "template_id", "activity_key",
                            name="uq_tasks_generated"),
    )
    op.create_index("ix_tasks_year_agency", "tasks", ["year", "agency_id"])
    op.create_index("ix_tasks_due", "tasks", ["due_on"])
    with op.batch_alter_table("admin_users") as batch:  # batch: SQLite cannot ALTER in place
        batch.add_column(sa.Column("agency_id", sa.String(80), nullable=True))
        batch.create_foreign_key("fk_admin_users_agency_id_agencies", "agencies",
                                 ["agency_id"], ["id"], ondelete="RESTRICT")


def downgrade() -> None:
    with op.batch_alter_table("admin_users") as batch:
        batch.drop_constraint("fk_admin_users_agency_id_agencies", type_="foreignkey")
        batch.drop_column("agency_id")
    op.drop_index("ix_tasks_due", table_name="tasks")
    op.drop_index("ix_tasks_year_agency", table_name="tasks")
    op.drop_table("tasks")
    op.drop_table("plan_templates")
    op.drop_table("agencies")
