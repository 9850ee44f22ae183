"""matching: open groups fill until the first meeting

Revision ID: 0016_matching_fill
Revises: 0015_performance
Create Date: 2026-12-07 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0016_matching_fill"
down_revision: str | None = "0015_performance"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
