"""statistics: breakdowns below county level

Revision ID: 0021_figures_more
Revises: 0020_suggestion_messages
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0021_figures_more"
down_revision: str | None = "0020_suggestion_messages"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
