"""statistics: faster refresh — ``stat_cell``'s primary key starts with the period; bundles

The refresh builds and stores a release one period at a time (months in order, then ``now``)
and stores each period while the next is protected; with the period first in the key, every
period's COPY appends to the key's index instead of inserting all over it. The readers filter
on the period in every query, so the key still serves them.

Revision ID: 0023_statistics_refresh
Revises: 0022_performance_more
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_statistics_refresh"
down_revision: str | None = "0022_performance_more"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("stat_cell", sa.Column("suppressed_categories", sa.ARRAY(sa.Text())))
    op.drop_constraint("pk_stat_cell", "stat_cell", type_="primary")
    op.create_primary_key(
        "pk_stat_cell",
        "stat_cell",
        ["release_id", "period", "table_id", "area_kind", "area_code", "category"],
    )


def downgrade() -> None:
    # A bundle has no single category: expand it back into one row per category.
    op.execute(
        "INSERT INTO stat_cell (release_id, table_id, period, area_kind, area_code, parent,"
        " category, value, suppressed)"
        " SELECT release_id, table_id, period, area_kind, area_code, parent,"
        " unnest(suppressed_categories), NULL, true"
        " FROM stat_cell WHERE suppressed_categories IS NOT NULL"
    )
    op.execute("DELETE FROM stat_cell WHERE suppressed_categories IS NOT NULL")
    op.drop_column("stat_cell", "suppressed_categories")
    op.drop_constraint("pk_stat_cell", "stat_cell", type_="primary")
    op.create_primary_key(
        "pk_stat_cell",
        "stat_cell",
        ["release_id", "table_id", "area_kind", "area_code", "category", "period"],
    )
