"""participants: ranked suggestions and choice changes

``waiting_note.suggestions``: every single change in a waiting person's own choices that would
place them now or soon, best first (``matching.diagnose``), as ``[{"kind", "value", "soon"}]``.
Notes written before keep their one suggestion, copied into the list.

Revision ID: 0019_suggestions
Revises: 0018_group_fill
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0019_suggestions"
down_revision: str | None = "0018_group_fill"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "waiting_note",
        sa.Column("suggestions", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    )
    op.execute(
        "UPDATE waiting_note SET suggestions = jsonb_build_array("
        "suggestion || '{\"soon\": false}'::jsonb) WHERE suggestion IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("waiting_note", "suggestions")
