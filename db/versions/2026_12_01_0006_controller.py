"""organisation: data controller and privacy contact

Revision ID: 0006_controller
Revises: 0005_erasure
Create Date: 2026-12-01 14:45:00

Each organisation names its legal data controller (e.g. "Oslo kommune", or the foundation that
runs a LINK) and whom to ask about privacy. Both are optional: the privacy page falls back to
the organisation's contact address and the national controller from settings.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_controller"
down_revision: str | None = "0005_erasure"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("organisation", sa.Column("controller_name", sa.Text(), nullable=True))
    op.add_column("organisation", sa.Column("privacy_contact", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("organisation", "privacy_contact")
    op.drop_column("organisation", "controller_name")
