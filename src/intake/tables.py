"""Tables of the intake package: reference data, the registry and interests.

SQLAlchemy Core tables rather than ORM classes: intake's work is short, explicit statements
(insert an interest, count who waits), and Core keeps the SQL visible.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

#: Shared constraint naming convention so Alembic migrations stay stable across packages.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _created_at() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


region = Table(
    "region",
    metadata,
    Column("slug", String(40), primary_key=True),
    Column("name", Text, nullable=False),
    Column("coordinator_email", Text),
)

county = Table(
    "county",
    metadata,
    Column("number", String(2), primary_key=True),
    Column("name", Text, nullable=False),
    Column("region_slug", ForeignKey("region.slug"), nullable=False),
)

municipality = Table(
    "municipality",
    metadata,
    Column("number", String(4), primary_key=True),
    Column("name", Text, nullable=False),
    Column("county_number", ForeignKey("county.number"), nullable=False),
    Column("population", Integer, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    # ASCII-folded, lower-case name parts so "tromso" finds "Tromsø" with a plain LIKE prefix.
    Column("search_key", Text, nullable=False),
)

theme = Table(
    "theme",
    metadata,
    Column("slug", String(60), primary_key=True),
    Column("name_nb", Text, nullable=False),
    Column("name_nn", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("position", SmallInteger, nullable=False),
)

ORGANISATION_KINDS = ("link", "contact_point", "learning_mastery_service", "municipal_service")

organisation = Table(
    "organisation",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("slug", String(80), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("region_slug", ForeignKey("region.slug"), nullable=False),
    Column("contact_email", Text),
    Column("coordinator_email", Text),
    # The legal data controller (e.g. "Oslo kommune") and whom to ask about privacy; the
    # privacy page falls back to contact_email and the national controller (0006_controller).
    Column("controller_name", Text),
    Column("privacy_contact", Text),
    # Per-organisation overrides of the group rules (see matching.model.Rules).
    Column("rules", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # Theme slugs the organisation starts groups for; NULL: every theme (0017).
    Column("themes", ARRAY(Text)),
    _created_at(),
    CheckConstraint(
        "kind IN ('link','contact_point','learning_mastery_service','municipal_service')",
        name="kind",
    ),
)

catchment = Table(
    "catchment",
    metadata,
    Column("organisation_id", ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
    Column("municipality_number", ForeignKey("municipality.number"), primary_key=True),
    Index("ix_catchment_municipality", "municipality_number"),
)

facilitator = Table(
    "facilitator",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("email", Text),
    Column("phone", Text),
    Column("themes", ARRAY(Text), nullable=False, server_default="{}"),
    Column("languages", ARRAY(Text), nullable=False, server_default="{no}"),
    Column("max_concurrent_starts", SmallInteger, nullable=False, server_default="1"),
    Column("digital", Boolean, nullable=False, server_default="false"),
    Column("active", Boolean, nullable=False, server_default="true"),
    _created_at(),
    # A pause (both days included, Oslo dates): not asked to start a group meanwhile (0013).
    Column("paused_from", Date),
    Column("paused_until", Date),
    CheckConstraint(
        "paused_from IS NULL OR paused_until IS NULL OR paused_from <= paused_until",
        name="pause_order",
    ),
)

api_key = Table(
    "api_key",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(20), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("label", Text),
    _created_at(),
    Column("revoked_at", DateTime(timezone=True)),
    # Keys made in the console expire; authenticate() refuses them afterwards (0017).
    Column("expires_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    CheckConstraint("role IN ('referrer','staff')", name="role"),
    Index("ix_api_key_organisation_id", "organisation_id"),
)

referral = Table(
    "referral",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("code", String(20), unique=True),
    Column("organisation_id", ForeignKey("organisation.id"), nullable=False),
    Column("target_organisation_id", ForeignKey("organisation.id")),
    Column("course_kind", String(20), nullable=False),
    Column("course_name", Text),
    Column("ends_on", Date),
    _created_at(),
    # Outcomes of people from this referral whose registration has since been erased: the
    # referrer's counts survive the erasure without a row per person (issue 8).
    Column("erased_withdrawn", Integer, nullable=False, server_default="0"),
    Column("erased_placed", Integer, nullable=False, server_default="0"),
    # People of this referral whose registration lapsed unconfirmed (0026).
    Column("erased_lapsed", Integer, nullable=False, server_default="0"),
    CheckConstraint("course_kind IN ('KID','KIB','Starthjelp','other')", name="course_kind"),
    Index("ix_referral_organisation_id", "organisation_id"),
)

INTEREST_STATUSES = ("waiting", "proposed", "invited", "placed", "withdrawn")

interest = Table(
    "interest",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    # Only a SHA-256 of the receipt code is stored: a database dump does not hand out codes.
    Column("receipt_hash", LargeBinary, nullable=False, unique=True),
    Column("municipality_number", ForeignKey("municipality.number"), nullable=False),
    Column("organisation_id", ForeignKey("organisation.id")),
    # Set for every interest; for a municipality nobody serves it is the unmet-demand record.
    Column("region_slug", ForeignKey("region.slug"), nullable=False),
    Column("themes", ARRAY(Text), nullable=False),
    Column("cross_problem_welcome", Boolean, nullable=False),
    Column("age_band", SmallInteger, nullable=False),
    Column("gender", String(20)),
    Column("same_gender", Boolean, nullable=False, server_default="false"),
    Column("languages", ARRAY(Text), nullable=False),
    Column("slots", ARRAY(Text), nullable=False),
    Column("digital_welcome", Boolean, nullable=False),
    Column("contact_kind", String(10)),
    Column("contact_encrypted", LargeBinary),
    Column("contact_masked", Text),
    # HMAC-SHA256 of the normalised address (ContactCipher.lookup_digest): finds the registrations
    # a lost receipt code can be re-sent for, without the address being readable (0010).
    Column("contact_lookup", LargeBinary),
    Column("consent_version", String(40), nullable=False),
    Column("consented_at", DateTime(timezone=True), nullable=False),
    Column("source", String(10), nullable=False),
    Column("referral_id", ForeignKey("referral.id")),
    Column("status", String(12), nullable=False, server_default="waiting"),
    Column("waiting_since", DateTime(timezone=True), nullable=False),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("withdrawn_at", DateTime(timezone=True)),
    # Opted in at sign-up to at most one message a month when a change in their own choices
    # would place them (0020): the messages' language, when the last went out, the SHA-256 of
    # its link and the changes it offered. "Stop these messages" clears them; erasure deletes.
    Column("suggestion_messages", Boolean, nullable=False, server_default="false"),
    Column("suggestion_language", String(2)),
    Column("suggestion_sent_at", DateTime(timezone=True)),
    Column("suggestion_link_hash", LargeBinary),
    Column("suggestion_offer", JSONB),
    # Registrations lapse (0026): kept until the last sign of life + SAMHJELP_LAPSE_AFTER_DAYS.
    # ``alive_at`` is that sign of life after the sign-up (NULL: the sign-up, ``created_at``);
    # the notice "do you still want a group?" went out at ``lapse_notice_at`` with a link whose
    # nonce hashes to ``lapse_link_hash``. A new sign of life clears both (intake.lapse).
    Column("alive_at", DateTime(timezone=True)),
    Column("lapse_notice_at", DateTime(timezone=True)),
    Column("lapse_link_hash", LargeBinary),
    CheckConstraint(
        "status IN ('waiting','proposed','invited','placed','withdrawn')", name="status"
    ),
    CheckConstraint("source IN ('self','staff','referral')", name="source"),
    CheckConstraint("age_band BETWEEN 18 AND 78 AND (age_band - 18) % 5 = 0", name="age_band"),
    CheckConstraint(
        "(contact_kind IS NULL) = (contact_encrypted IS NULL)", name="contact_complete"
    ),
    CheckConstraint("cardinality(themes) > 0 OR cross_problem_welcome", name="some_theme"),
    Index("ix_interest_org_status", "organisation_id", "status"),
    Index(
        "ix_interest_region_unmet", "region_slug", postgresql_where=text("organisation_id IS NULL")
    ),
    Index(
        "ix_interest_referral_id",
        "referral_id",
        "status",
        postgresql_where=text("referral_id IS NOT NULL"),
    ),
    Index(
        "ix_interest_contact_lookup",
        "contact_lookup",
        postgresql_where=text("contact_lookup IS NOT NULL"),
    ),
    Index(
        "ix_interest_suggestion_link_hash",
        "suggestion_link_hash",
        unique=True,
        postgresql_where=text("suggestion_link_hash IS NOT NULL"),
    ),
    Index(
        "ix_interest_suggestion_messages",
        "suggestion_sent_at",
        postgresql_where=text("suggestion_messages"),
    ),
    Index(
        "ix_interest_lapse_link_hash",
        "lapse_link_hash",
        unique=True,
        postgresql_where=text("lapse_link_hash IS NOT NULL"),
    ),
)
#: The lapse job's scan: waiting people by their last sign of life (0026).
Index(
    "ix_interest_alive",
    func.coalesce(interest.c.alive_at, interest.c.created_at),
    postgresql_where=text("status = 'waiting'"),
)

#: What an erased registration leaves behind (issue 8): one count per dimension value, never a
#: cross-tabulation of dimensions, so no cell is a row per person by construction.
TALLY_DIMENSIONS = (
    "all",
    "theme",
    "language",
    "slot",
    "age_band",
    "gender",
    "source",
    "wait_weeks",
)
TALLY_OUTCOMES = ("withdrawn", "placed", "lapsed")

interest_tally = Table(
    "interest_tally",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    # Month of sign-up (Europe/Oslo), municipality and catchment organisation (NULL: unmet
    # demand) as they were; no foreign keys, since the counts outlive registry changes.
    Column("month", Date, nullable=False),
    Column("municipality_number", String(4), nullable=False),
    Column("organisation_id", UUID(as_uuid=True)),
    Column("dimension", String(20), nullable=False),
    Column("value", Text, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("count", Integer, nullable=False),
    UniqueConstraint(
        "month",
        "municipality_number",
        "organisation_id",
        "dimension",
        "value",
        "outcome",
        name="uq_interest_tally_cell",
        postgresql_nulls_not_distinct=True,
    ),
    CheckConstraint(
        "dimension IN ('all','theme','language','slot','age_band','gender','source','wait_weeks')",
        name="dimension",
    ),
    CheckConstraint("outcome IN ('withdrawn','placed','lapsed')", name="outcome"),
    CheckConstraint("count > 0", name="count"),
)

idempotency_key = Table(
    "idempotency_key",
    metadata,
    Column("key_hash", LargeBinary, primary_key=True),
    Column("request_hash", LargeBinary, nullable=False),
    Column("response_status", SmallInteger),
    # The first response holds the receipt code, so it is kept encrypted and only for a day.
    Column("response_encrypted", LargeBinary),
    _created_at(),
)
