"""matching: groups that fill until their first meeting

Revision ID: 0018_group_fill
Revises: 0017_api_key_expiry
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0018_group_fill"
down_revision: str | None = "0017_api_key_expiry"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
