"""matching: fuller groups (reserved)

Revision ID: 0025_group_size
Revises: 0024_matching_speed
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0025_group_size"
down_revision: str | None = "0024_matching_speed"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
