"""staff console: spare revision

Revision ID: 0013_staff_extra
Revises: 0012_staff_more
Create Date: 2026-12-07 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0013_staff_extra"
down_revision: str | None = "0012_staff_more"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
