"""intake: registrations that lapse (reserved)

Revision ID: 0026_lapse
Revises: 0025_group_size
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0026_lapse"
down_revision: str | None = "0025_group_size"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
