"""staff console: API key expiry and organisation settings

Revision ID: 0017_api_key_expiry
Revises: 0016_matching_fill
Create Date: 2026-12-07 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0017_api_key_expiry"
down_revision: str | None = "0016_matching_fill"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
