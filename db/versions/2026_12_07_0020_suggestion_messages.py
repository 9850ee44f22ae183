"""participants: at most one message a month when a change in their choices would place them

A person who left a contact may opt in at sign-up (``suggestion_messages``) to be told, at most
once in 30 days, when one small change in their own choices would place them now. The row keeps
the language of those messages, when the last one went out, the SHA-256 of the link it carried
(the link itself is never stored) and the changes it offered. Withdrawal and erasure delete the
row, and with it all of this; "stop these messages" clears the opt-in and the link.

Revision ID: 0020_suggestion_messages
Revises: 0019_suggestions
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0020_suggestion_messages"
down_revision: str | None = "0019_suggestions"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "interest",
        sa.Column("suggestion_messages", sa.Boolean(), nullable=False, server_default="false"),
    )
    op.add_column("interest", sa.Column("suggestion_language", sa.String(2)))
    op.add_column("interest", sa.Column("suggestion_sent_at", sa.DateTime(timezone=True)))
    op.add_column("interest", sa.Column("suggestion_link_hash", sa.LargeBinary()))
    op.add_column("interest", sa.Column("suggestion_offer", JSONB()))
    op.create_index(
        "ix_interest_suggestion_link_hash",
        "interest",
        ["suggestion_link_hash"],
        unique=True,
        postgresql_where=sa.text("suggestion_link_hash IS NOT NULL"),
    )
    op.create_index(
        "ix_interest_suggestion_messages",
        "interest",
        ["suggestion_sent_at"],
        postgresql_where=sa.text("suggestion_messages"),
    )


def downgrade() -> None:
    op.drop_index("ix_interest_suggestion_messages", table_name="interest")
    op.drop_index("ix_interest_suggestion_link_hash", table_name="interest")
    for name in (
        "suggestion_offer",
        "suggestion_link_hash",
        "suggestion_sent_at",
        "suggestion_language",
        "suggestion_messages",
    ):
        op.drop_column("interest", name)
