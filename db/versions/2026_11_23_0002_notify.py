"""notify: the transactional outbox

Revision ID: 0002_notify
Revises: 0001_intake
Create Date: 2026-11-23

Written by hand to match ``notify.tables``; constraint names follow the shared naming convention.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_notify"
down_revision: str | None = "0001_intake"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(5), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("recipient", sa.LargeBinary(), nullable=True),
        sa.Column("recipient_ref", sa.String(200), nullable=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("coordinator", sa.LargeBinary(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("attachments", postgresql.JSONB(), nullable=True),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scrubbed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f("ck_notify_outbox_channel")),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')",
            name=op.f("ck_notify_outbox_status"),
        ),
        sa.CheckConstraint("lang IN ('nb', 'nn', 'en')", name=op.f("ck_notify_outbox_lang")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notify_outbox_attempts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notify_outbox_dedupe_key")),
    )
    # Claiming due messages: WHERE status IN (...) AND next_attempt_at <= now ORDER BY it.
    op.create_index("ix_notify_outbox_due", "notify_outbox", ["status", "next_attempt_at"])
    # Erasure looks messages up by the person's reference.
    op.create_index(op.f("ix_notify_outbox_recipient_ref"), "notify_outbox", ["recipient_ref"])


def downgrade() -> None:
    op.drop_index(op.f("ix_notify_outbox_recipient_ref"), table_name="notify_outbox")
    op.drop_index("ix_notify_outbox_due", table_name="notify_outbox")
    op.drop_table("notify_outbox")
