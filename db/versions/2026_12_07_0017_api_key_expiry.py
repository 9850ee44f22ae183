"""staff console: API key expiry and organisation settings

API keys get an expiry (a key made in the console always has one; keys made earlier on the
command line have none and keep working until revoked) and the time of last use (updated at
most hourly, so an API call does not write a row each time). Organisations get the themes they
offer: NULL means every theme, which is what every organisation did before.

Revision ID: 0017_api_key_expiry
Revises: 0016_matching_fill
Create Date: 2026-12-07 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0017_api_key_expiry"
down_revision: str | None = "0016_matching_fill"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_key", sa.Column("expires_at", sa.DateTime(timezone=True)))
    op.add_column("api_key", sa.Column("last_used_at", sa.DateTime(timezone=True)))
    op.add_column("organisation", sa.Column("themes", ARRAY(sa.Text())))
    op.create_index("ix_api_key_organisation_id", "api_key", ["organisation_id"])
    op.create_index("ix_referral_organisation_id", "referral", ["organisation_id"])
    op.create_index(
        "ix_interest_referral_id",
        "interest",
        ["referral_id", "status"],
        postgresql_where=sa.text("referral_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_interest_referral_id", table_name="interest")
    op.drop_index("ix_referral_organisation_id", table_name="referral")
    op.drop_index("ix_api_key_organisation_id", table_name="api_key")
    op.drop_column("organisation", "themes")
    op.drop_column("api_key", "last_used_at")
    op.drop_column("api_key", "expires_at")
