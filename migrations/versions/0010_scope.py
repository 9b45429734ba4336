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
    with op.batch_alter_table("commemorations") as batch:
        batch.drop_column("scope")
