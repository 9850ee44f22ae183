"""Participants of a forming or running group: their answers, absences and leaving.

A yes confirms the place; a no, or leaving, frees it (:mod:`groups.places` offers it to the
next person). Invitations and calendar files live in :mod:`groups.invitations`.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from groups import common, invitations, places
from groups.config import Lifecycle
from groups.model import Group, GroupState, Meeting, Member, MemberState
from groups.tables import meeting_absence
from intake import pool
from matching.states import BEFORE_START
from matching.tables import group_member
from notify import CalendarMethod, Party


class Answer(enum.StrEnum):
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    GONE = "gone"


async def _member(
    session: AsyncSession, group_id: uuid.UUID, interest_id: uuid.UUID
) -> Member | None:
    row = (
        (
            await session.execute(
                select(group_member)
                .where(
                    group_member.c.group_id == group_id,
                    group_member.c.interest_id == interest_id,
                )
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else Member.from_row(row)


async def answer(
    session: AsyncSession,
    lc: Lifecycle,
    group_id: uuid.UUID,
    interest_id: uuid.UUID,
    *,
    accept: bool,
    now: datetime,
    states: tuple[str, ...] = (MemberState.INVITED, MemberState.INFORMED, MemberState.OFFERED),
) -> Answer:
    """A participant's yes or no to an invitation (or, from ``offered``, to a freed place).

    Yes to an invitation confirms the place (interest 'placed'). Yes to a place offer confirms
    it too once a first meeting exists; before that the person simply joins the proposal and
    is invited with the others. No returns the person to the pool with their waiting time and
    frees the place for the next person.
    """
    group = await common.load_group(session, group_id)
    member = await _member(session, group_id, interest_id)
    if (
        group is None
        or member is None
        or not member.active
        or member.state not in states
        or group.status not in (*BEFORE_START, GroupState.RUNNING)
    ):
        return Answer.GONE
    actor = f"interest:{interest_id}"
    if accept:
        meeting = await invitations.first_meeting(session, group_id)
        if member.state is MemberState.OFFERED and meeting is None:
            await common.set_member(
                session,
                group_id,
                interest_id,
                state=MemberState.PROPOSED,
                answered_at=now,
                respond_by=None,
            )
        else:
            await common.set_member(
                session,
                group_id,
                interest_id,
                state=MemberState.CONFIRMED,
                answered_at=now,
                respond_by=None,
            )
            await pool.set_status(
                session, [interest_id], "placed", now=now, only_from=("proposed", "invited")
            )
        await common.event(session, group_id, "member_confirmed", now=now, actor=actor)
        return Answer.CONFIRMED
    await places.leave(session, group_id, interest_id, state=MemberState.DECLINED, now=now)
    await common.event(session, group_id, "member_declined", now=now, actor=actor)
    await places.refill(session, lc, group_id, now=now)
    return Answer.DECLINED


async def answer_for(
    session: AsyncSession, lc: Lifecycle, interest_id: uuid.UUID, *, accept: bool, now: datetime
) -> Answer:
    """A yes or no given on the status page (people without a contact channel get no links):
    answers for the person's one active group, if it is waiting for their answer."""
    group_id = (
        await session.execute(
            select(group_member.c.group_id).where(
                group_member.c.interest_id == interest_id, group_member.c.active
            )
        )
    ).scalar_one_or_none()
    if group_id is None:
        return Answer.GONE
    return await answer(session, lc, group_id, interest_id, accept=accept, now=now)


async def mark_absent(
    session: AsyncSession,
    lc: Lifecycle,
    group_id: uuid.UUID,
    interest_id: uuid.UUID,
    meeting_id: uuid.UUID,
    *,
    now: datetime,
) -> bool:
    """ "I can't come this time": a participant who said yes skips one coming meeting and keeps
    their place. They get no reminder for it, and the facilitator is told (no name). False if
    the person has not said yes or the meeting is not a coming one of their group."""
    member = await _member(session, group_id, interest_id)
    group = await common.load_group(session, group_id)
    meeting = next(
        (m for m in await invitations.planned_meetings(session, group_id) if m.id == meeting_id),
        None,
    )
    if (
        group is None
        or group.ended
        or member is None
        or not member.active
        or member.state is not MemberState.CONFIRMED
        or meeting is None
        or meeting.starts_at <= now
    ):
        return False
    added = await session.execute(
        insert(meeting_absence)
        .values(meeting_id=meeting_id, interest_id=interest_id, created_at=now)
        .on_conflict_do_nothing()
        .returning(meeting_absence.c.meeting_id)
    )
    if added.first() is None:
        return True  # said before: nothing new to tell
    await common.event(
        session, group_id, "member_absent", now=now, actor=f"interest:{interest_id}",
        meeting=meeting.number,
    )  # fmt: skip
    await _tell_facilitator(
        session,
        lc,
        group,
        "absent",
        meeting,
        now=now,
        key=f"{meeting_id}:{common.person_key(lc, interest_id)}",
    )
    return True


async def leave_group(
    session: AsyncSession,
    lc: Lifecycle,
    group_id: uuid.UUID,
    interest_id: uuid.UUID,
    *,
    now: datetime,
) -> bool:
    """A participant who said yes leaves the group (not the service): their calendar loses the
    coming meetings (one CANCEL for all of them), they are back in the queue with their
    waiting time, and the facilitator is told. Before the start the place is offered to the
    next person. False if the person holds no confirmed place in the group."""
    member = await _member(session, group_id, interest_id)
    group = await common.load_group(session, group_id)
    if (
        group is None
        or group.ended
        or member is None
        or not member.active
        or member.state is not MemberState.CONFIRMED
    ):
        return False
    coming = [m for m in await invitations.planned_meetings(session, group_id) if m.starts_at > now]
    await places.leave(session, group_id, interest_id, state=MemberState.LEFT, now=now)
    await common.event(session, group_id, "member_left", now=now, actor=f"interest:{interest_id}")
    org = await common.organisation(session, group.organisation_id)
    organizer = common.organizer(lc, org)
    await common.to_participants(
        session, lc, group, org, [interest_id], "group_left",
        {"org_name": org.name, "back_in_queue": True},
        dedupe=f"group_left:{group_id}", now=now,
        attachments=lambda _iid, address: (
            (invitations.calendar(coming, lc, method=CalendarMethod.CANCEL, now=now,
                                  organizer=organizer, attendee=Party(address)),)
            if coming else ()
        ),
    )  # fmt: skip
    await _tell_facilitator(session, lc, group, "left", coming[0] if coming else None, now=now,
                            key=f"left:{common.person_key(lc, interest_id)}")  # fmt: skip
    if group.before_start:
        await places.refill(session, lc, group_id, now=now)
    return True


async def absent_from(session: AsyncSession, meeting_id: uuid.UUID) -> set[uuid.UUID]:
    """Who said they cannot come to this meeting."""
    rows = await session.execute(
        select(meeting_absence.c.interest_id).where(meeting_absence.c.meeting_id == meeting_id)
    )
    return set(rows.scalars())


async def _tell_facilitator(
    session: AsyncSession,
    lc: Lifecycle,
    group: Group,
    kind: str,
    meeting: Meeting | None,
    *,
    now: datetime,
    key: str,
) -> None:
    fac = await common.facilitator_info(session, group.facilitator_id)
    if fac is None or group.accepted_at is None:
        return
    org = await common.organisation(session, group.organisation_id)
    confirmed = [
        m for m in await common.active_members(session, group.id)
        if m.state is MemberState.CONFIRMED
    ]  # fmt: skip
    await common.to_facilitator(
        session, lc, fac, org, "member_absent",
        {
            "org_name": org.name,
            "group_name": await common.group_name(session, group, org, "nb"),
            "kind": kind,
            "meeting_number": meeting.number if meeting else 0,
            "meeting_start": meeting.starts_at if meeting else now,
            "coming": len(confirmed),
        },
        dedupe_key=f"member_{kind}:{group.id}:{key}", now=now,
    )  # fmt: skip
