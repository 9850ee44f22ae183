"""staff users, sign-in tokens, sessions, passkeys, audit trail

Revision ID: 0011_staff
Revises: 0010_contact_lookup
Create Date: 2026-12-07 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_staff"
down_revision: str | None = "0010_contact_lookup"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_user",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column(
            "organisation_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey(
                "organisation.id",
                ondelete="CASCADE",
                name="fk_staff_user_organisation_id_organisation",
            ),
        ),
        sa.Column(
            "region_slug",
            sa.String(40),
            sa.ForeignKey("region.slug", name="fk_staff_user_region_slug_region"),
        ),
        sa.Column("oidc_issuer", sa.Text()),
        sa.Column("oidc_subject", sa.Text()),
        sa.Column("invited_by", postgresql.UUID(as_uuid=True)),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("last_sign_in_at", TZ),
        sa.Column("disabled_at", TZ),
        sa.UniqueConstraint("email", name="uq_staff_user_email"),
        sa.CheckConstraint(
            "role IN ('staff','coordinator','administrator')", name="ck_staff_user_role"
        ),
        sa.CheckConstraint(
            "(role = 'staff' AND organisation_id IS NOT NULL AND region_slug IS NULL)"
            " OR (role = 'coordinator' AND region_slug IS NOT NULL AND organisation_id IS NULL)"
            " OR (role = 'administrator' AND organisation_id IS NULL AND region_slug IS NULL)",
            name="ck_staff_user_scope",
        ),
        sa.CheckConstraint("email = lower(email)", name="ck_staff_user_email_lower"),
    )
    op.create_index(
        "uq_staff_user_oidc", "staff_user", ["oidc_issuer", "oidc_subject"], unique=True
    )
    op.create_table(
        "staff_sign_in",
        sa.Column("token_hash", sa.LargeBinary(), primary_key=True),
        sa.Column(
            "user_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey(
                "staff_user.id", ondelete="CASCADE", name="fk_staff_sign_in_user_id_staff_user"
            ),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ),
        sa.CheckConstraint("purpose IN ('sign_in','invite')", name="ck_staff_sign_in_purpose"),
    )
    op.create_index("ix_staff_sign_in_user", "staff_sign_in", ["user_id", "created_at"])
    op.create_table(
        "staff_session",
        sa.Column("id_hash", sa.LargeBinary(), primary_key=True),
        sa.Column(
            "user_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey(
                "staff_user.id", ondelete="CASCADE", name="fk_staff_session_user_id_staff_user"
            ),
            nullable=False,
        ),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("revoked_at", TZ),
        sa.CheckConstraint("method IN ('email','passkey','oidc')", name="ck_staff_session_method"),
    )
    op.create_index("ix_staff_session_user", "staff_session", ["user_id"])
    op.create_table(
        "staff_passkey",
        sa.Column("credential_id", sa.LargeBinary(), primary_key=True),
        sa.Column(
            "user_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey(
                "staff_user.id", ondelete="CASCADE", name="fk_staff_passkey_user_id_staff_user"
            ),
            nullable=False,
        ),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("label", sa.Text()),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_used_at", TZ),
    )
    op.create_index("ix_staff_passkey_user", "staff_passkey", ["user_id"])
    op.create_table(
        "staff_audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("user_id", postgresql.UUID(as_uuid=True)),
        sa.Column("user_name", sa.Text(), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("record_kind", sa.String(20)),
        sa.Column("record_id", sa.Text()),
        sa.Column("organisation_id", postgresql.UUID(as_uuid=True)),
        sa.Column("region_slug", sa.String(40)),
        sa.Column("detail", postgresql.JSONB()),
        sa.Column("client", sa.Text()),
    )
    op.create_index("ix_staff_audit_at", "staff_audit", ["at"])
    op.create_index("ix_staff_audit_record", "staff_audit", ["record_kind", "record_id"])
    op.create_index("ix_staff_audit_org", "staff_audit", ["organisation_id", "at"])


def downgrade() -> None:
    for name in ("staff_audit", "staff_passkey", "staff_session", "staff_sign_in", "staff_user"):
        op.drop_table(name)
