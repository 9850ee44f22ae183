"""performance: registration and outbox

Revision ID: 0022_performance_more
Revises: 0021_figures_more
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0022_performance_more"
down_revision: str | None = "0021_figures_more"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
