"""matching: groups that fill until their first meeting

Revision ID: 0018_group_fill
Revises: 0017_api_key_expiry
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_group_fill"
down_revision: str | None = "0017_api_key_expiry"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    # People who joined open groups in a run (matching.fill), next to the people placed in
    # new groups.
    op.add_column(
        "match_run",
        sa.Column("joined", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("match_run", "joined")
