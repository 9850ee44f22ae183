"""notify: outbox indexes only over the rows they serve

The claim (``status IN ('pending', 'sending') AND next_attempt_at <= now ORDER BY
next_attempt_at LIMIT n``) could not use the (status, next_attempt_at) index in due order: it
read every due row (or the whole table) and sorted it, a cost that grew with the outbox's
history of sent messages. A partial index on next_attempt_at over the unsent rows is read in
order and stops after n entries; a message recorded as sent leaves it (one index entry less to
write per outcome). The staff console's failed messages get a partial index of their own.

Revision ID: 0028_outbox_more
Revises: 0027_figures_breakdowns
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_outbox_more"
down_revision: str | None = "0027_figures_breakdowns"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_notify_outbox_due", table_name="notify_outbox")
    op.create_index(
        "ix_notify_outbox_due",
        "notify_outbox",
        ["next_attempt_at"],
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.create_index(
        "ix_notify_outbox_failed",
        "notify_outbox",
        ["organisation_id"],
        postgresql_where=sa.text("status = 'failed'"),
    )


def downgrade() -> None:
    op.drop_index("ix_notify_outbox_failed", table_name="notify_outbox")
    op.drop_index("ix_notify_outbox_due", table_name="notify_outbox")
    op.create_index("ix_notify_outbox_due", "notify_outbox", ["status", "next_attempt_at"])
