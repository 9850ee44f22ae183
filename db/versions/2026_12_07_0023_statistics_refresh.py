"""statistics: faster refresh (reserved)

Revision ID: 0023_statistics_refresh
Revises: 0022_performance_more
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0023_statistics_refresh"
down_revision: str | None = "0022_performance_more"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
