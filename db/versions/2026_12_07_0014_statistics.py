"""statistics: aggregates for the public figures

Revision ID: 0014_statistics
Revises: 0013_staff_extra
Create Date: 2026-12-07 12:50:00

The refresh job (``figures.refresh``) writes each release of the published figures here:
``stat_release`` (one row per refresh) and ``stat_cell`` (the release's non-zero and suppressed
cells). Readers use the newest release only; older ones are dropped by the job.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_statistics"
down_revision: str | None = "0013_staff_extra"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stat_release",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_month", sa.String(length=7), nullable=True),
        sa.Column("last_month", sa.String(length=7), nullable=True),
        sa.Column("seconds", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stat_release")),
    )
    op.create_table(
        "stat_cell",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("table_id", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("area_kind", sa.String(length=12), nullable=False),
        sa.Column("area_code", sa.String(length=80), nullable=False),
        sa.Column("parent", sa.String(length=92), nullable=True),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), server_default="false", nullable=False),
        sa.PrimaryKeyConstraint(
            "release_id",
            "table_id",
            "area_kind",
            "area_code",
            "category",
            "period",
            name="pk_stat_cell",
        ),
    )
    op.create_index(
        "ix_stat_cell_parent", "stat_cell", ["release_id", "table_id", "parent", "period"]
    )
    op.create_index("ix_stat_cell_area", "stat_cell", ["release_id", "area_kind", "area_code"])


def downgrade() -> None:
    op.drop_index("ix_stat_cell_area", table_name="stat_cell")
    op.drop_index("ix_stat_cell_parent", table_name="stat_cell")
    op.drop_table("stat_cell")
    op.drop_table("stat_release")
