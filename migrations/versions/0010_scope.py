"""A commemoration's scope: "national" or "local" (issue 12), so that rankings can put the
nation's observances before the province's own.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("commemorations") as batch:  # batch: SQLite cannot ALTER in place
        batch.add_column(sa.Column("scope", sa.String(16), nullable=False,
                                   server_default="national"))


def downgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("commemorations")}
    if "scope" not in columns:
        return  # already done (SQLite commits DDL as it goes; see 0011's downgrade)
    with op.batch_alter_table("commemorations") as batch:
        batch.drop_column("scope")
