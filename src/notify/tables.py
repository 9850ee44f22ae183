"""Tables of the notify package: the outbox.

One row per message. Other packages never read this table; they call :func:`notify.enqueue`
inside their own transaction, which is what makes the outbox transactional: the message exists
if and only if the state change that caused it was committed.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from intake.tables import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

outbox = Table(
    "notify_outbox",
    metadata,
    # The id is also the Message-ID / SMS idempotency key, so it is made by the application
    # (uuid4) before the row exists and never changes.
    Column("id", Uuid, primary_key=True),
    Column("channel", String(8), nullable=False),
    Column("template", String(64), nullable=False),
    Column("lang", String(5), nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    # Personal data: AES-GCM ciphertext (notify.model.seal_address); NULL once scrubbed.
    Column("recipient", LargeBinary, nullable=True),
    Column("recipient_ref", String(200), nullable=True, index=True),
    Column("organisation_id", Uuid, nullable=True),
    Column("coordinator", LargeBinary, nullable=True),
    # Rendered at enqueue time so every attempt sends the same words; NULL once scrubbed.
    Column("subject", Text, nullable=True),
    Column("body_text", Text, nullable=True),
    Column("body_html", Text, nullable=True),
    Column("attachments", JSONB, nullable=True),
    Column("dedupe_key", String(200), nullable=True, unique=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_owner", String(100), nullable=True),
    # Never the provider's full text: it may quote the address. See DeliveryError.
    Column("last_error", String(500), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("failed_at", DateTime(timezone=True), nullable=True),
    Column("scrubbed_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("channel IN ('email', 'sms')", name="channel"),
    CheckConstraint(
        "status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')", name="status"
    ),
    CheckConstraint("lang IN ('nb', 'nn', 'en')", name="lang"),
    CheckConstraint("attempts >= 0", name="attempts"),
)

#: The claim reads the unsent rows in due order and stops after a batch (issue 12): only those
#: rows are in the index, so a claim's cost does not grow with the history of sent messages,
#: and recording a message as sent writes no entry here.
Index(
    "ix_notify_outbox_due",
    outbox.c.next_attempt_at,
    postgresql_where=text("status IN ('pending', 'sending')"),
)
#: The staff console's failed messages of its organisations.
Index(
    "ix_notify_outbox_failed",
    outbox.c.organisation_id,
    postgresql_where=text("status = 'failed'"),
)
