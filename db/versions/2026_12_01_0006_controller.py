"""organisation: data controller and privacy contact

Revision ID: 0006_controller
Revises: 0005_erasure
Create Date: 2026-12-01 14:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401 - filled in by the change this revision belongs to
from alembic import op  # noqa: F401

revision: str = "0006_controller"
down_revision: str | None = "0005_erasure"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
