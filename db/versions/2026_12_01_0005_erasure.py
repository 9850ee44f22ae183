"""erasure: anonymous tallies, withdrawn interests deleted

Revision ID: 0005_erasure
Revises: 0004_lifecycle
Create Date: 2026-12-01 14:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401 - filled in by the change this revision belongs to
from alembic import op  # noqa: F401

revision: str = "0005_erasure"
down_revision: str | None = "0004_lifecycle"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
