"""groups: the municipality a group belongs to (reserved)

Revision ID: 0029_group_municipality
Revises: 0028_outbox_more
Create Date: 2026-12-08 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0029_group_municipality"
down_revision: str | None = "0028_outbox_more"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
