"""Invitations to a forming group's meetings, and the calendar files that go with them.

Its own module because several steps build on it without needing answers or freed places:
meetings are invited once a facilitator sets them, moved meetings resend the calendar, and a
lapsing group cancels it. Calendar entries never name the theme.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from groups import common
from groups.brief import on_slot, slot_text
from groups.config import Lifecycle
from groups.links import Purpose
from groups.model import Group, Meeting, MeetingState, MemberState
from groups.tables import group_meeting
from groups.timing import invitation_deadline
from intake import pool
from notify import Attachment, CalendarMethod, MeetingEvent, Party, meeting_attachment

SUMMARY = "Gruppemøte"  # neutral: calendar entries never name the theme


async def first_meeting(session: AsyncSession, group_id: uuid.UUID) -> Meeting | None:
    row = (
        (
            await session.execute(
                select(group_meeting).where(
                    group_meeting.c.group_id == group_id, group_meeting.c.number == 1
                )
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else Meeting.from_row(row)


async def planned_meetings(session: AsyncSession, group_id: uuid.UUID) -> list[Meeting]:
    """The group's meetings still to come (planned), in order."""
    rows = await session.execute(
        select(group_meeting)
        .where(group_meeting.c.group_id == group_id, group_meeting.c.status == MeetingState.PLANNED)
        .order_by(group_meeting.c.number)
    )
    return [Meeting.from_row(r) for r in rows.mappings()]


def calendar(
    meeting: Meeting | Sequence[Meeting],
    lc: Lifecycle,
    *,
    method: CalendarMethod,
    now: datetime,
    organizer: Party | None = None,
    attendee: Party | None = None,
) -> Attachment:
    """One calendar file for one or several meetings (RFC 5546: ORGANIZER and ATTENDEE when
    known). A CANCEL raises each meeting's SEQUENCE past the last version sent."""
    meetings = [meeting] if isinstance(meeting, Meeting) else list(meeting)
    return meeting_attachment(
        [
            MeetingEvent(
                meeting_id=m.id,
                start=m.starts_at,
                duration=lc.config.meeting_duration,
                summary=SUMMARY,
                location=m.place,
                sequence=m.sequence + (1 if method is CalendarMethod.CANCEL else 0),
                organizer=organizer,
                attendees=(attendee,) if attendee else (),
            )
            for m in meetings
        ],
        method=method,
        now=now,
    )


def _off_slot(group: Group, meeting: Meeting) -> bool:
    """Whether the first meeting is off the weekday and time of day people chose (the
    facilitator confirmed it on the meeting form; the invitation must say so)."""
    try:
        return not on_slot(group.slot, meeting.starts_at)
    except ValueError:  # a slot outside the sign-up vocabulary: nothing to compare with
        return False


async def invite(
    session: AsyncSession,
    lc: Lifecycle,
    group: Group,
    meeting: Meeting,
    *,
    now: datetime,
) -> dict[str, int]:
    """Invite every member not yet invited: with a contact channel by message (with .ics),
    without one via their status page (``participant_step``)."""
    gid = group.id
    waiting = [
        m.interest_id
        for m in await common.active_members(session, gid)
        if m.state is MemberState.PROPOSED
    ]
    org = await common.organisation(session, group.organisation_id)
    respond_by = invitation_deadline(now, meeting.starts_at, lc.config)
    lang = common.participant_lang(group)
    urls: dict[uuid.UUID, dict[str, str]] = {}
    for iid in waiting:
        urls[iid] = {
            "accept_url": await common.link(
                session, lc, Purpose.INVITE_ACCEPT, gid, iid, expires_at=respond_by, now=now
            ),
            "decline_url": await common.link(
                session, lc, Purpose.INVITE_DECLINE, gid, iid, expires_at=respond_by, now=now
            ),
            "info_url": await common.member_link(session, lc, gid, iid, now=now),
        }
    # Every facilitated meeting, in the invitation's words and in its calendar file.
    meetings = await planned_meetings(session, gid) or [meeting]
    off_slot = _off_slot(group, meeting)
    try:
        chosen = slot_text(group.slot, lang)
    except ValueError:
        chosen = group.slot
    organizer = common.organizer(lc, org)
    reached = await common.to_participants(
        session,
        lc,
        group,
        org,
        waiting,
        "invitation",
        lambda iid: {
            "org_name": org.name,
            "theme_name": common.theme_name(group.theme, lang),
            "meeting_start": meeting.starts_at,
            "place": meeting.place,
            "meetings": [m.starts_at for m in meetings],
            "respond_by": respond_by,
            "off_slot": off_slot,
            "slot_text": chosen,
            **urls[iid],
        },
        dedupe=f"invitation:{meeting.id}:{meeting.sequence}",
        now=now,
        attachments=lambda _iid, address: (
            calendar(
                meetings,
                lc,
                method=CalendarMethod.REQUEST,
                now=now,
                organizer=organizer,
                attendee=Party(address),
            ),
        ),
    )
    for iid in waiting:
        if iid in reached:
            await common.set_member(
                session,
                gid,
                iid,
                state=MemberState.INVITED,
                respond_by=respond_by,
                answered_at=None,
            )
        else:
            await common.set_member(session, gid, iid, state=MemberState.INFORMED, respond_by=None)
    await pool.set_status(session, waiting, "invited", now=now, only_from=("proposed",))
    await common.event(
        session,
        gid,
        "invited",
        now=now,
        by_message=len(reached),
        on_status_page=len(waiting) - len(reached),
    )
    return {"invited": len(reached), "informed": len(waiting) - len(reached)}
