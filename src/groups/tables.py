"""Tables of the group life cycle: start notices, meetings and signed action links.

The proposal row (``matching.tables.start_group``) and its members and event log stay with
matching, whose output contract they are; these tables hold what happens to a proposal after.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

from intake.tables import NAMING_CONVENTION, facilitator, interest
from matching.tables import start_group

metadata = MetaData(naming_convention=NAMING_CONVENTION)

facilitator_offer = Table(
    "facilitator_offer",
    metadata,
    # One start notice to one facilitator; at most one is pending per group.
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("group_id", ForeignKey(start_group.c.id, ondelete="CASCADE"), nullable=False),
    Column("facilitator_id", ForeignKey(facilitator.c.id), nullable=False),
    Column("status", String(12), nullable=False, server_default="pending"),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("respond_by", DateTime(timezone=True), nullable=False),
    Column("reminded_at", DateTime(timezone=True)),
    Column("answered_at", DateTime(timezone=True)),
    CheckConstraint(
        "status IN ('pending','accepted','declined','expired','withdrawn')", name="status"
    ),
    Index("ix_facilitator_offer_group", "group_id"),
    Index(
        "uq_facilitator_offer_one_pending",
        "group_id",
        unique=True,
        postgresql_where=text("status = 'pending'"),
    ),
)

group_meeting = Table(
    "group_meeting",
    metadata,
    # Meetings 1..N with the facilitator; ``sequence`` is the calendar file's SEQUENCE.
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("group_id", ForeignKey(start_group.c.id, ondelete="CASCADE"), nullable=False),
    Column("number", SmallInteger, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("place", Text, nullable=False),
    Column("sequence", SmallInteger, nullable=False, server_default="0"),
    Column("status", String(12), nullable=False, server_default="planned"),
    Column("reminded_at", DateTime(timezone=True)),
    Column("checkin_sent_at", DateTime(timezone=True)),
    Column("checkin_at", DateTime(timezone=True)),
    Column("attended", SmallInteger),
    Column("goes_on", Boolean),
    Column("follow_up", Text),
    # The facilitator confirmed a time off the group's slot (groups.brief.on_slot): the
    # invitation says the time differs from what people chose (migration 0008).
    Column("off_slot", Boolean, nullable=False, server_default=text("false")),
    CheckConstraint("status IN ('planned','held','cancelled')", name="status"),
    UniqueConstraint("group_id", "number", name="uq_group_meeting_group_number"),
)

action_link = Table(
    "action_link",
    metadata,
    # A signed link (groups.links): the URL carries the nonce and an HMAC over all of these
    # columns; the row carries the state that makes the link work once.
    Column("nonce", String(16), primary_key=True),
    Column("purpose", String(30), nullable=False),
    Column("object_id", UUID(as_uuid=True), nullable=False),
    Column("subject_id", UUID(as_uuid=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Index("ix_action_link_object", "object_id"),
    # Erasing a person deletes their links by subject (groups.erasure).
    Index("ix_action_link_subject", "subject_id"),
)

meeting_absence = Table(
    "meeting_absence",
    metadata,
    # A participant who said yes told us they cannot come to this one meeting (migration 0009):
    # they get no reminder for it and the facilitator knows. Deleted with the person.
    Column("meeting_id", ForeignKey(group_meeting.c.id, ondelete="CASCADE"), primary_key=True),
    Column(
        "interest_id", ForeignKey(interest.c.id, ondelete="CASCADE"), primary_key=True, index=True
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
