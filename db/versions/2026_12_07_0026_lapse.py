"""intake: registrations that lapse

Revision ID: 0026_lapse
Revises: 0025_group_size
Create Date: 2026-12-07 19:00:00

A waiting registration is kept until its last sign of life plus ``SAMHJELP_LAPSE_AFTER_DAYS``
(the date is computed, not stored, so changing the setting applies to everyone at once):

* ``interest.alive_at``: the last sign of life after the sign-up (a change of choices, an
  accepted suggestion, "keep me on the list", a return to the pool); NULL means the sign-up
  itself (``created_at``), so the one-trip registration insert needs no new column;
* ``interest.lapse_notice_at`` / ``lapse_link_hash``: when the one "do you still want a group?"
  message went out for the current period and the SHA-256 of its link's nonce (as the
  suggestion links); both are cleared by any new sign of life;
* ``referral.erased_lapsed``: the referrer's count of people whose registration lapsed;
* ``interest_tally`` may count outcome 'lapsed'.

The partial expression index serves the daily job's "whose keep-until has come" scan; the
existing rows simply start their year from their sign-up.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_lapse"
down_revision: str | None = "0025_group_size"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("interest", sa.Column("alive_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "interest", sa.Column("lapse_notice_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("interest", sa.Column("lapse_link_hash", sa.LargeBinary(), nullable=True))
    op.create_index(
        "ix_interest_lapse_link_hash",
        "interest",
        ["lapse_link_hash"],
        unique=True,
        postgresql_where=sa.text("lapse_link_hash IS NOT NULL"),
    )
    op.create_index(
        "ix_interest_alive",
        "interest",
        [sa.text("coalesce(alive_at, created_at)")],
        postgresql_where=sa.text("status = 'waiting'"),
    )
    op.add_column(
        "referral",
        sa.Column("erased_lapsed", sa.Integer(), server_default="0", nullable=False),
    )
    op.drop_constraint("ck_interest_tally_outcome", "interest_tally", type_="check")
    op.create_check_constraint(
        op.f("ck_interest_tally_outcome"),
        "interest_tally",
        "outcome IN ('withdrawn','placed','lapsed')",
    )


def downgrade() -> None:
    op.execute("DELETE FROM interest_tally WHERE outcome = 'lapsed'")
    op.drop_constraint("ck_interest_tally_outcome", "interest_tally", type_="check")
    op.create_check_constraint(
        op.f("ck_interest_tally_outcome"), "interest_tally", "outcome IN ('withdrawn','placed')"
    )
    op.drop_column("referral", "erased_lapsed")
    op.drop_index("ix_interest_alive", table_name="interest")
    op.drop_index("ix_interest_lapse_link_hash", table_name="interest")
    op.drop_column("interest", "lapse_link_hash")
    op.drop_column("interest", "lapse_notice_at")
    op.drop_column("interest", "alive_at")
