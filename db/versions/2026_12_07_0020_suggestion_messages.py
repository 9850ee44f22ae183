"""participants: monthly suggestion messages and digital capacity

Revision ID: 0020_suggestion_messages
Revises: 0019_suggestions
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0020_suggestion_messages"
down_revision: str | None = "0019_suggestions"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
