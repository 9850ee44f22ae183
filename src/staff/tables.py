"""Tables of the staff console: users, one-time sign-in links, sessions, passkeys, audit trail.

Secrets are never stored: sign-in links and session ids are kept as SHA-256 digests, so a
database dump neither signs anyone in nor takes over a session.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from intake.tables import NAMING_CONVENTION, organisation, region

metadata = MetaData(naming_convention=NAMING_CONVENTION)

STAFF_ROLES = ("staff", "coordinator", "administrator")

staff_user = Table(
    "staff_user",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    # Stored lower-cased: the sign-in form's address is matched exactly.
    Column("email", Text, nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    # staff: one organisation; coordinator: a region; administrator: neither (national).
    Column("organisation_id", ForeignKey(organisation.c.id, ondelete="CASCADE")),
    Column("region_slug", ForeignKey(region.c.slug)),
    # The subject (``sub``) and issuer of the organisation's identity provider, once linked.
    Column("oidc_issuer", Text),
    Column("oidc_subject", Text),
    Column("invited_by", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_sign_in_at", DateTime(timezone=True)),
    Column("disabled_at", DateTime(timezone=True)),
    CheckConstraint("role IN ('staff','coordinator','administrator')", name="role"),
    CheckConstraint(
        "(role = 'staff' AND organisation_id IS NOT NULL AND region_slug IS NULL)"
        " OR (role = 'coordinator' AND region_slug IS NOT NULL AND organisation_id IS NULL)"
        " OR (role = 'administrator' AND organisation_id IS NULL AND region_slug IS NULL)",
        name="scope",
    ),
    CheckConstraint("email = lower(email)", name="email_lower"),
    Index("uq_staff_user_oidc", "oidc_issuer", "oidc_subject", unique=True),
)

staff_sign_in = Table(
    "staff_sign_in",
    metadata,
    # A one-time link sent by e-mail: to sign in, or to accept an invitation.
    Column("token_hash", LargeBinary, primary_key=True),
    Column("user_id", ForeignKey(staff_user.c.id, ondelete="CASCADE"), nullable=False),
    Column("purpose", String(10), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    CheckConstraint("purpose IN ('sign_in','invite')", name="purpose"),
    Index("ix_staff_sign_in_user", "user_id", "created_at"),
)

staff_session = Table(
    "staff_session",
    metadata,
    Column("id_hash", LargeBinary, primary_key=True),
    Column("user_id", ForeignKey(staff_user.c.id, ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    # Absolute end, whatever the activity; idle end is last_seen_at + the idle timeout.
    Column("expires_at", DateTime(timezone=True), nullable=False),
    # How the session was opened: 'email' (first factor only), 'passkey' or 'oidc' (two-factor).
    Column("method", String(10), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    CheckConstraint("method IN ('email','passkey','oidc')", name="method"),
    Index("ix_staff_session_user", "user_id"),
)

staff_passkey = Table(
    "staff_passkey",
    metadata,
    Column("credential_id", LargeBinary, primary_key=True),
    Column("user_id", ForeignKey(staff_user.c.id, ondelete="CASCADE"), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("sign_count", BigInteger, nullable=False, server_default="0"),
    Column("label", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Index("ix_staff_passkey_user", "user_id"),
)

staff_audit = Table(
    "staff_audit",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    # Kept when the user is deleted: the trail must outlive the account.
    Column("user_id", UUID(as_uuid=True)),
    Column("user_name", Text, nullable=False),
    # e.g. 'interest.view', 'interest.contact', 'group.close', 'user.invite', 'sign_in'.
    Column("action", String(40), nullable=False),
    Column("record_kind", String(20)),
    Column("record_id", Text),
    # Whose record: scopes what a coordinator may read of the trail.
    Column("organisation_id", UUID(as_uuid=True)),
    Column("region_slug", String(40)),
    Column("detail", JSONB),
    Column("client", Text),
    Index("ix_staff_audit_at", "at"),
    Index("ix_staff_audit_record", "record_kind", "record_id"),
    Index("ix_staff_audit_org", "organisation_id", "at"),
)
