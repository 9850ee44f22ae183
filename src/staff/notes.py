"""Notes kept with a person's record: why a staff member changed their choices on their behalf.

The note is part of the registration (``interest_note``, migration 0012) and goes with it: the
foreign key cascades, so every erasure path (:func:`intake.erasure.erase_interests`, reached by
a withdrawal or the scheduled erasure) deletes the notes in the same statement, without intake
knowing the console exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from intake.tables import interest
from staff.access import Viewer
from staff.tables import metadata, staff_user

NOTE_MIN, NOTE_MAX = 3, 1000

interest_note = Table(
    "interest_note",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("interest_id", ForeignKey(interest.c.id, ondelete="CASCADE"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_id", ForeignKey(staff_user.c.id, ondelete="SET NULL")),
    Column("user_name", Text, nullable=False),
    Column("what", String(20), nullable=False),
    Column("text", Text, nullable=False),
    CheckConstraint("what IN ('change','note')", name="what"),
    CheckConstraint("length(text) BETWEEN 3 AND 1000", name="length"),
    Index("ix_interest_note_interest", "interest_id", "at"),
)


@dataclass(frozen=True)
class Note:
    at: datetime
    user_name: str
    what: str
    text: str


async def add(
    db: AsyncSession,
    viewer: Viewer,
    interest_id: uuid.UUID,
    text: str,
    *,
    what: str = "change",
    now: datetime,
) -> None:
    await db.execute(
        interest_note.insert().values(
            interest_id=interest_id,
            at=now,
            user_id=viewer.user_id,
            user_name=viewer.name,
            what=what,
            text=text,
        )
    )


async def of(db: AsyncSession, interest_id: uuid.UUID) -> list[Note]:
    """A record's notes, newest first."""
    rows = await db.execute(
        select(
            interest_note.c.at, interest_note.c.user_name, interest_note.c.what,
            interest_note.c.text,
        )
        .where(interest_note.c.interest_id == interest_id)
        .order_by(interest_note.c.at.desc(), interest_note.c.id.desc())
    )  # fmt: skip
    return [Note(r.at, r.user_name, r.what, r.text) for r in rows]
