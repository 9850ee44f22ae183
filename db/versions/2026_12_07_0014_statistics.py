"""statistics: aggregates for the public figures

Revision ID: 0014_statistics
Revises: 0013_staff_extra
Create Date: 2026-12-07 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0014_statistics"
down_revision: str | None = "0013_staff_extra"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
