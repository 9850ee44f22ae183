"""interest: keyed contact digest so a lost receipt code can be re-sent

Revision ID: 0010_contact_lookup
Revises: 0009_member_answers
Create Date: 2026-12-01 16:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401 - filled in by the change this revision belongs to
from alembic import op  # noqa: F401

revision: str = "0010_contact_lookup"
down_revision: str | None = "0009_member_answers"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
