"""performance: registration, outbox and matching (reserved)

Revision ID: 0024_matching_speed
Revises: 0023_statistics_refresh
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0024_matching_speed"
down_revision: str | None = "0023_statistics_refresh"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
