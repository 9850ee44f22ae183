"""Tables of matching: start groups (proposals and their life cycle), members, notes, runs."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from intake.tables import NAMING_CONVENTION, facilitator, interest, organisation
from matching.states import (
    ACTIVE_MEMBER_STATES,
    OPEN_GROUP_STATES,
    GroupState,
    MemberState,
    check_in,
)

__all__ = [
    "ACTIVE_MEMBER_STATES",
    "GROUP_STATES",
    "OPEN_GROUP_STATES",
    "GroupState",
    "MemberState",
    "group_event",
    "group_member",
    "match_run",
    "metadata",
    "start_group",
    "waiting_note",
]

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: States of a start group (:class:`matching.states.GroupState`). 'proposed' is what the
#: matching job creates; the life cycle (groups) moves it on. 'lapsed' and 'closed' are terminal.
GROUP_STATES: tuple[GroupState, ...] = tuple(GroupState)

start_group = Table(
    "start_group",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("organisation_id", ForeignKey(organisation.c.id), nullable=False),
    Column("theme", String(60)),  # None: across problems (på tvers)
    Column("language", String(8), nullable=False),
    Column("slot", String(20), nullable=False),
    Column("digital", Boolean, nullable=False),
    Column("facilitator_id", ForeignKey(facilitator.c.id)),
    # The group's home municipality (statistics): where most of the members lived when it
    # was formed, ties to the lowest number; set once by ``store_plan``, never rewritten, so
    # erasing the members does not move the group in the published figures. No foreign key
    # (as ``interest_tally``): the figure outlives registry changes. NULL only for groups
    # formed before migration 0029 that it could not place.
    Column("municipality_number", String(4)),
    Column("status", String(20), nullable=False, server_default=GroupState.PROPOSED.value),
    # Why: the rules that applied when the group was formed, and the run that formed it.
    Column("rules", JSONB, nullable=False),
    Column("match_run_id", ForeignKey("match_run.id")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Life cycle (groups). ``places``: the size the group was formed with; a place
    # freed before the start is offered to the next compatible waiting person.
    Column("places", SmallInteger),
    Column("meetings_planned", SmallInteger),
    Column("accepted_at", DateTime(timezone=True)),
    Column("scheduled_at", DateTime(timezone=True)),
    Column("started_at", DateTime(timezone=True)),
    Column("self_running_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_reason", Text),
    Column("coordinator_alerted_at", DateTime(timezone=True)),
    Column("region_alerted_at", DateTime(timezone=True)),
    Column("followup_sent_at", DateTime(timezone=True)),
    Column("followup_done_at", DateTime(timezone=True)),
    Column("review_sent_at", DateTime(timezone=True)),
    Column("review_done_at", DateTime(timezone=True)),
    # When the participants' contact data is to be erased, and when it was.
    Column("erase_contacts_after", DateTime(timezone=True)),
    Column("contacts_erased_at", DateTime(timezone=True)),
    # Same text as migration 0003's constraint: built from the enum so the two cannot drift.
    CheckConstraint(check_in("status", GroupState), name="status"),
    Index("ix_start_group_status", "status"),
    # The console's group list, newest first, whole or by state, and its counts per state;
    # a facilitator's load (open groups). Migration 0013_staff_extra.
    Index("ix_start_group_org_created", "organisation_id", "created_at", "id"),
    Index("ix_start_group_org_status_created", "organisation_id", "status", "created_at", "id"),
    Index("ix_start_group_facilitator_status", "facilitator_id", "status"),
)

group_member = Table(
    "group_member",
    metadata,
    Column("group_id", ForeignKey("start_group.id", ondelete="CASCADE"), primary_key=True),
    Column("interest_id", ForeignKey(interest.c.id), primary_key=True),
    # Active while the group is open and the person has not declined or left.
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("state", String(20), nullable=False, server_default=MemberState.PROPOSED.value),
    Column("joined_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Reply window of an invitation or place offer, and when the person answered.
    Column("respond_by", DateTime(timezone=True)),
    Column("answered_at", DateTime(timezone=True)),
    Column("contact_erased_at", DateTime(timezone=True)),
    # The database, not only the code, guarantees a person is never in two open groups.
    Index(
        "uq_group_member_one_open_group",
        "interest_id",
        unique=True,
        postgresql_where=text("active"),
    ),
)

match_run = Table(
    "match_run",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("candidates", Integer, nullable=False, server_default="0"),
    Column("groups", Integer, nullable=False, server_default="0"),
    Column("placed", Integer, nullable=False, server_default="0"),
    # People who joined open groups in this run (matching.fill; migration 0018_group_fill).
    Column("joined", Integer, nullable=False, server_default="0"),
    Column("rules", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
)

waiting_note = Table(
    "waiting_note",
    metadata,
    # Why someone still waits and the smallest change that would place them (latest run).
    Column("interest_id", ForeignKey(interest.c.id, ondelete="CASCADE"), primary_key=True),
    Column("reason", JSONB, nullable=False),
    Column("suggestion", JSONB),
    # Every single change that would place them, best first: [{"kind", "value", "soon"}, ...]
    # (matching.notes; migration 0019_suggestions).
    Column("suggestions", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

group_event = Table(
    "group_event",
    metadata,
    # Every state change of a group (who, what, when) for the coordinator's overview.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_id", ForeignKey("start_group.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("what", Text, nullable=False),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("ix_group_event_group", "group_id"),
)
