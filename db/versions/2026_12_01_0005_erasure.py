"""erasure: anonymous tallies, withdrawn interests deleted

Revision ID: 0005_erasure
Revises: 0004_lifecycle
Create Date: 2026-12-01 14:45:00

What an erased registration leaves behind is ``interest_tally`` (anonymous counts) and two
counters on ``referral``. Rows that an older version only marked 'withdrawn' are erased by the
life-cycle tick (``groups.erasure.erase_withdrawn``) through the same code path as a
new withdrawal. The one data step: outbox rows already scrubbed by an older version kept a dedupe
key ending in the participant's interest id (new keys carry a keyed hash instead), which would
outlive the person's erasure; those keys are dropped (the messages are finished, so nothing is
left to deduplicate).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_erasure"
down_revision: str | None = "0004_lifecycle"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interest_tally",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("municipality_number", sa.String(length=4), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=True),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "dimension IN ('all','theme','language','slot','age_band','gender','source',"
            "'wait_weeks')",
            name=op.f("ck_interest_tally_dimension"),
        ),
        sa.CheckConstraint(
            "outcome IN ('withdrawn','placed')", name=op.f("ck_interest_tally_outcome")
        ),
        sa.CheckConstraint("count > 0", name=op.f("ck_interest_tally_count")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interest_tally")),
        sa.UniqueConstraint(
            "month",
            "municipality_number",
            "organisation_id",
            "dimension",
            "value",
            "outcome",
            name="uq_interest_tally_cell",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.add_column(
        "referral",
        sa.Column("erased_withdrawn", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "referral",
        sa.Column("erased_placed", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_index("ix_action_link_subject", "action_link", ["subject_id"], unique=False)
    op.execute(
        "UPDATE notify_outbox SET dedupe_key = NULL "
        "WHERE scrubbed_at IS NOT NULL AND recipient_ref IS NULL "
        "AND dedupe_key ~ ':[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"
    )


def downgrade() -> None:
    op.drop_index("ix_action_link_subject", table_name="action_link")
    op.drop_column("referral", "erased_placed")
    op.drop_column("referral", "erased_withdrawn")
    op.drop_table("interest_tally")
