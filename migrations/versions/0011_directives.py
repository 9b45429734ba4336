"""Directives and designations as data of their own (issue 12): a directive has an id (several
may share a year), a designation is (directive, year, commemoration, ordinal), so that the
2024 directive, a 2025 one and any later one can each name the same commemoration; and the
renames of places and agencies (Quảng Nam into Đà Nẵng city, 1/7/2025).

Existing rows carry over: each year's directive becomes `chi-thi-<year>` (the loader's
default id) and its designations point at it, with the ordinal computed from the origin.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _directives_table() -> None:
    op.create_table(
        "directives",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("directive", sa.Text(), nullable=False),
        sa.Column("theme", sa.Text(), nullable=False),
        sa.Column("name", sa.String(300), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("scope", sa.String(16), nullable=False, server_default="national"),
        sa.Column("source_file", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directives")),
    )
    op.create_index("ix_directives_year", "directives", ["year"])


def upgrade() -> None:
    bind = op.get_bind()
    # Read the old rows, then drop the tables: PostgreSQL keeps constraint names with a
    # renamed table, so the new tables could not take theirs otherwise. A few rows.
    directives = [dict(r._mapping) for r in bind.execute(sa.text(
        "SELECT year, directive, theme, source, source_file FROM directives"))]
    # A yearly observance with no historical year (Tết, migration 0009) has no ordinal.
    designations = [dict(r._mapping) for r in bind.execute(sa.text(
        "SELECT d.commemoration_id, d.year, d.year - c.origin_year AS ordinal "
        "FROM designations d JOIN commemorations c ON c.id = d.commemoration_id"))]
    op.drop_table("designations")
    op.drop_table("directives")
    _directives_table()
    directives_table = sa.table(
        "directives", *(sa.column(n) for n in ("id", "year", "directive", "theme", "source",
                                               "source_file")))
    rows = [{"id": f"chi-thi-{d['year']}", **d} for d in directives]
    # A designation stored before the directives table existed has no header: give its year
    # a directive with the default wording, so that nothing is lost.
    known = {d["year"] for d in directives}
    rows += [{"id": f"chi-thi-{year}", "year": year, "directive": f"Chỉ thị năm {year}",
              "theme": "", "source": None, "source_file": None}
             for year in sorted({d["year"] for d in designations} - known)]
    if rows:
        op.bulk_insert(directives_table, rows)
    op.create_table(
        "designations",
        sa.Column("commemoration_id", sa.String(80), nullable=False),
        sa.Column("directive_id", sa.String(80), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["commemoration_id"], ["commemorations.id"], ondelete="CASCADE",
                                name=op.f("fk_designations_commemoration_id_commemorations")),
        sa.ForeignKeyConstraint(["directive_id"], ["directives.id"], ondelete="CASCADE",
                                name=op.f("fk_designations_directive_id_directives")),
        sa.PrimaryKeyConstraint("commemoration_id", "directive_id",
                                name=op.f("pk_designations")),
    )
    op.create_index("ix_designations_year", "designations", ["year"])
    if designations:
        op.bulk_insert(sa.table("designations", *(sa.column(n) for n in (
            "commemoration_id", "directive_id", "year", "ordinal"))),
            [{**d, "directive_id": f"chi-thi-{d['year']}"} for d in designations])
    op.create_table(
        "renames",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("old", sa.String(300), nullable=False),
        sa.Column("new", sa.String(300), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_file", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renames")),
    )


def downgrade() -> None:
    bind = op.get_bind()
    if "id" not in {c["name"] for c in sa.inspect(bind).get_columns("directives")}:
        # Already done: SQLite commits DDL as it goes, so a downgrade refused further down
        # (0009 with a yearly observance) leaves this one applied while the recorded
        # revision stays; running it again must change nothing.
        return
    # One directive per year was all the old tables could hold: the first id of each year.
    directives = [dict(r._mapping) for r in bind.execute(sa.text(
        "SELECT year, directive, theme, source, source_file FROM directives d "
        "WHERE id = (SELECT MIN(id) FROM directives e WHERE e.year = d.year)"))]
    designations = [dict(r._mapping) for r in bind.execute(sa.text(
        "SELECT DISTINCT commemoration_id, year FROM designations"))]
    op.drop_table("renames")
    op.drop_index("ix_designations_year", table_name="designations")
    op.drop_table("designations")
    op.drop_index("ix_directives_year", table_name="directives")
    op.drop_table("directives")
    op.create_table(
        "directives",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("directive", sa.Text(), nullable=False),
        sa.Column("theme", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("source_file", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_directives")),
    )
    op.create_table(
        "designations",
        sa.Column("commemoration_id", sa.String(80), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["commemoration_id"], ["commemorations.id"], ondelete="CASCADE",
                                name=op.f("fk_designations_commemoration_id_commemorations")),
        sa.PrimaryKeyConstraint("commemoration_id", "year", name=op.f("pk_designations")),
    )
    if directives:
        op.bulk_insert(sa.table("directives", *(sa.column(n) for n in (
            "year", "directive", "theme", "source", "source_file"))), directives)
    if designations:
        op.bulk_insert(sa.table("designations", sa.column("commemoration_id"),
                                sa.column("year")), designations)
