"""groups: absences, leaving a group, check-in notes to staff

Revision ID: 0009_member_answers
Revises: 0008_roster
Create Date: 2026-12-01 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401 - filled in by the change this revision belongs to
from alembic import op  # noqa: F401

revision: str = "0009_member_answers"
down_revision: str | None = "0008_roster"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
