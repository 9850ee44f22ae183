"""interest: keyed contact digest so a lost receipt code can be re-sent

Revision ID: 0010_contact_lookup
Revises: 0009_member_answers
Create Date: 2026-12-01 16:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_contact_lookup"
down_revision: str | None = "0009_member_answers"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    # AES-GCM with random nonces cannot be searched, so a person asking for a new receipt code
    # is found by an HMAC of their normalised address under a key derived from the contact key.
    # Registrations made before this revision have no digest (the key is not available to a
    # migration) and cannot be found this way; they keep their codes.
    op.add_column("interest", sa.Column("contact_lookup", sa.LargeBinary(), nullable=True))
    op.create_index(
        "ix_interest_contact_lookup",
        "interest",
        ["contact_lookup"],
        postgresql_where=sa.text("contact_lookup IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_interest_contact_lookup", table_name="interest")
    op.drop_column("interest", "contact_lookup")
