"""staff console: a facilitator's pause (paused_from, paused_until)

Revision ID: 0013_staff_extra
Revises: 0012_staff_more
Create Date: 2026-12-07 12:50:00

Staff pause an igangsetter for a stretch of days (holiday, illness) without deactivating them:
the life cycle does not send them start notices from ``paused_from`` to ``paused_until`` (both
days included, dates in Europe/Oslo). Either end may be open.

Indexes for the console's lists with 20,000 people waiting: the groups of an organisation
newest first (whole, or by state, with the counts per state) and a facilitator's open groups.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_staff_extra"
down_revision: str | None = "0012_staff_more"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_INDEXES = (
    ("ix_start_group_org_created", ["organisation_id", "created_at", "id"]),
    ("ix_start_group_org_status_created", ["organisation_id", "status", "created_at", "id"]),
    ("ix_start_group_facilitator_status", ["facilitator_id", "status"]),
)


def upgrade() -> None:
    op.add_column("facilitator", sa.Column("paused_from", sa.Date(), nullable=True))
    op.add_column("facilitator", sa.Column("paused_until", sa.Date(), nullable=True))
    op.create_check_constraint(
        op.f("ck_facilitator_pause_order"),
        "facilitator",
        "paused_from IS NULL OR paused_until IS NULL OR paused_from <= paused_until",
    )
    for name, columns in _INDEXES:
        op.create_index(name, "start_group", columns)


def downgrade() -> None:
    for name, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name="start_group")
    op.drop_constraint(op.f("ck_facilitator_pause_order"), "facilitator", type_="check")
    op.drop_column("facilitator", "paused_until")
    op.drop_column("facilitator", "paused_from")
