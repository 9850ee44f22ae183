"""groups: absences, leaving a group, check-in notes to staff

Revision ID: 0009_member_answers
Revises: 0008_roster
Create Date: 2026-12-01 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0009_member_answers"
down_revision: str | None = "0008_roster"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    # "I can't come this time": one row per participant and meeting. Leaving a group is a
    # member state ('left', no schema change: group_member.state has no CHECK). Check-in notes
    # already live in group_meeting.follow_up; the staff API now shows them.
    op.create_table(
        "meeting_absence",
        sa.Column("meeting_id", UUID(as_uuid=True), nullable=False),
        # Erasing a person deletes their registration, and with it their absences.
        sa.Column("interest_id", UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["group_meeting.id"],
            name=op.f("fk_meeting_absence_meeting_id_group_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["interest_id"],
            ["interest.id"],
            name=op.f("fk_meeting_absence_interest_id_interest"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "interest_id", name=op.f("pk_meeting_absence")),
    )
    op.create_index(op.f("ix_meeting_absence_interest_id"), "meeting_absence", ["interest_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_meeting_absence_interest_id"), table_name="meeting_absence")
    op.drop_table("meeting_absence")
