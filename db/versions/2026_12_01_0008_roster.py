"""groups: roster links and facilitator page details

Revision ID: 0008_roster
Revises: 0007_outbox_outcome
Create Date: 2026-12-01 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_roster"
down_revision: str | None = "0007_outbox_outcome"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    # The facilitator confirmed a first-meeting time off the group's agreed slot: the
    # invitation says so. Roster links need no schema change (a new action_link purpose).
    op.add_column(
        "group_meeting",
        sa.Column("off_slot", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("group_meeting", "off_slot")
