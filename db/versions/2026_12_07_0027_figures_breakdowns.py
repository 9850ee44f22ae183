"""statistics: placed, withdrawn and waiting by dimension (reserved)

Revision ID: 0027_figures_breakdowns
Revises: 0026_lapse
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0027_figures_breakdowns"
down_revision: str | None = "0026_lapse"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
