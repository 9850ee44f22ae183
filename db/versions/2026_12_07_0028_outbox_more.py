"""notify: outbox (reserved)

Revision ID: 0028_outbox_more
Revises: 0027_figures_breakdowns
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0028_outbox_more"
down_revision: str | None = "0027_figures_breakdowns"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
