"""participants: ranked suggestions and choice changes

Revision ID: 0019_suggestions
Revises: 0018_group_fill
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0019_suggestions"
down_revision: str | None = "0018_group_fill"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
