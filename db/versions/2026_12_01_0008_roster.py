"""groups: roster links and facilitator page details

Revision ID: 0008_roster
Revises: 0007_outbox_outcome
Create Date: 2026-12-01 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401 - filled in by the change this revision belongs to
from alembic import op  # noqa: F401

revision: str = "0008_roster"
down_revision: str | None = "0007_outbox_outcome"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
