"""The delivery ledger carries every kind of notice: reminders, task notices, agency digests.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:  # batch: SQLite cannot ALTER in place
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False,
                                   server_default="reminder"))
        batch.add_column(sa.Column("notice_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("address", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("agency_id", sa.String(80), nullable=True))
        batch.add_column(sa.Column("task_id", sa.Integer(), nullable=True))
        for name, type_ in (("subscriber_id", sa.Integer()),
                            ("commemoration_id", sa.String(80)),
                            ("year", sa.Integer()), ("occurrence_date", sa.Date()),
                            ("lead_days", sa.Integer())):
            batch.alter_column(name, existing_type=type_, nullable=True)
        batch.create_foreign_key("fk_deliveries_agency_id_agencies", "agencies",
                                 ["agency_id"], ["id"], ondelete="CASCADE")
        batch.create_foreign_key("fk_deliveries_task_id_tasks", "tasks", ["task_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_unique_constraint("uq_deliveries_notice",
                                       ["kind", "notice_key", "channel", "address"])


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE kind <> 'reminder'")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries_notice", type_="unique")
        batch.drop_constraint("fk_deliveries_task_id_tasks", type_="foreignkey")
        batch.drop_constraint("fk_deliveries_agency_id_agencies", type_="foreignkey")
        for name, type_ in (("subscriber_id", sa.Integer()),
                            ("commemoration_id", sa.String(80)),
                            ("year", sa.Integer()), ("occurrence_date", sa.Date()),
                            ("lead_days", sa.Integer())):
            batch.alter_column(name, existing_type=type_, nullable=False)
        for name in ("task_id", "agency_id", "address", "notice_key", "kind"):
            batch.drop_column(name)
