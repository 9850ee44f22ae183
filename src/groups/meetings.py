"""Meetings 1..N with the facilitator, check-ins, self-running, follow-up and review.

The facilitator proposes the first meeting (date, time, place); meetings 2..N follow weekly at
the same time and place (DOMAIN.md: same time and place every week). The day before each, the
participants and the facilitator get a reminder; after each, the facilitator gets a check-in
link. After meeting N the group runs on its own; 4 weeks later the facilitator is reminded to
follow up, after 6 months to review.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from groups import checkins, common, invitations, members, timing
from groups.config import Lifecycle, meetings_for
from groups.links import Purpose
from groups.model import Group, GroupState, Meeting, MeetingState, MemberState
from groups.tables import group_meeting
from intake import pool
from matching.states import AWAITING_REPLY
from matching.tables import group_member, start_group
from notify import CalendarMethod, PartStat, Party

#: Members who are told about meetings (those who declined or left are not).
COMING = (MemberState.INVITED, MemberState.INFORMED, MemberState.CONFIRMED)


async def propose_first_meeting(
    session: AsyncSession,
    lc: Lifecycle,
    group_id: uuid.UUID,
    facilitator_id: uuid.UUID,
    *,
    starts_at: datetime,
    place: str,
    now: datetime,
) -> bool:
    """Plan meetings 1..N and invite the participants. False if the group is not waiting
    for a first meeting from this facilitator (or the time is not in the future)."""
    group = await common.load_group(session, group_id)
    if (
        group is None
        or group.status is not GroupState.ACCEPTED
        or group.facilitator_id != facilitator_id
        or starts_at.tzinfo is None
        or starts_at <= now
    ):
        return False
    org = await common.organisation(session, group.organisation_id)
    n = meetings_for(org.rules, lc.config)
    place = place.strip()[:300]
    rows = [
        {"id": uuid.uuid4(), "group_id": group_id, "number": k, "starts_at": at, "place": place}
        for k, at in enumerate(timing.meeting_starts(starts_at, n, lc.config), start=1)
    ]
    await session.execute(group_meeting.insert().values(rows))
    await common.set_group(
        session,
        group_id,
        status=GroupState.SCHEDULED,
        scheduled_at=now,
        meetings_planned=n,
        updated_at=now,
    )
    await common.event(
        session,
        group_id,
        "meetings_planned",
        now=now,
        actor=f"facilitator:{facilitator_id}",
        first=starts_at.isoformat(),
        meetings=n,
    )
    first = await invitations.first_meeting(session, group_id)
    assert first is not None
    await invitations.invite(session, lc, group, first, now=now)
    return True


async def _coming(session: AsyncSession, group_id: uuid.UUID) -> list[uuid.UUID]:
    return [
        m.interest_id for m in await common.active_members(session, group_id) if m.state in COMING
    ]


async def advance_meetings(
    session: AsyncSession, lc: Lifecycle, *, now: datetime
) -> dict[str, int]:
    """Tick step: reminders, start, check-ins, self-running, follow-up and review.

    What each planned meeting needs is :func:`groups.timing.meeting_steps`; this applies it.
    """
    counts = {"meeting_reminders": 0, "checkins": 0, "started": 0, "self_running": 0}
    cfg = lc.config
    # Meetings held since the last run, per group: after downtime two meetings of one group
    # can end in the same run, and the facilitator gets one check-in message for both.
    held: dict[uuid.UUID, tuple[Group, pool.OrganisationInfo, pool.FacilitatorInfo, list[Any]]]
    held = {}
    due = (
        (
            await session.execute(
                select(group_meeting)
                .join(start_group, start_group.c.id == group_meeting.c.group_id)
                .where(
                    group_meeting.c.status == MeetingState.PLANNED,
                    start_group.c.status.in_((GroupState.SCHEDULED, GroupState.RUNNING)),
                    group_meeting.c.starts_at <= timing.reminder_horizon(now, cfg),
                )
                .order_by(group_meeting.c.starts_at)
                .with_for_update(of=group_meeting, skip_locked=True)
            )
        )
        .mappings()
        .all()
    )
    for m in map(Meeting.from_row, due):
        group = await common.load_group(session, m.group_id)
        if group is None:
            continue
        steps = timing.meeting_steps(m, group, now, cfg)
        if not (steps.remind or steps.start or steps.held):
            continue
        org = await common.organisation(session, group.organisation_id)
        fac = await common.facilitator_info(session, group.facilitator_id)
        if steps.remind:
            await _remind(session, lc, group, org, fac, m, now=now)
            await checkins.set_meeting(session, m.id, reminded_at=now)
            counts["meeting_reminders"] += 1
        if steps.start:
            await common.set_group(
                session, group.id, status=GroupState.RUNNING, started_at=m.starts_at, updated_at=now
            )
            await common.event(session, group.id, "started", now=now)
            counts["started"] += 1
        if not steps.held:
            continue
        await checkins.set_meeting(session, m.id, status=MeetingState.HELD, checkin_sent_at=now)
        await common.event(session, group.id, "meeting_held", now=now, number=m.number)
        if fac is not None:
            url = await common.link(
                session,
                lc,
                Purpose.CHECKIN,
                m.id,
                fac.id,
                expires_at=timing.checkin_link_expires(now, cfg),
                now=now,
            )
            held.setdefault(group.id, (group, org, fac, []))[3].append((m, url))
        if steps.self_running:
            await common.set_group(
                session,
                group.id,
                status=GroupState.SELF_RUNNING,
                self_running_at=steps.ended_at,
                erase_contacts_after=steps.erase_contacts_after,
                updated_at=now,
            )
            await common.event(session, group.id, "self_running", now=now)
            counts["self_running"] += 1
    for group, org, fac, done in held.values():
        await common.to_facilitator(
            session, lc, fac, org, "checkin_request",
            {
                "org_name": org.name,
                "group_name": await common.group_name(session, group, org, "nb"),
                "checkins": [{"number": m.number, "url": url} for m, url in done],
                # The single-meeting keys of the old template, for messages rendered before.
                "meeting_number": done[0][0].number,
                "checkin_url": done[0][1],
            },
            dedupe_key=f"checkin_request:{done[0][0].id}", now=now,
        )  # fmt: skip
        counts["checkins"] += len(done)
    counts |= await checkins.after_self_running(session, lc, now=now)
    return counts


async def _remind(
    session: AsyncSession,
    lc: Lifecycle,
    group: Group,
    org: pool.OrganisationInfo,
    fac: pool.FacilitatorInfo | None,
    m: Meeting,
    *,
    now: datetime,
) -> None:
    """The day-before reminder: to participants who said yes and did not say they cannot come
    to this one (nobody who has not answered is reminded), and to the facilitator."""
    absent = await members.absent_from(session, m.id)
    coming = [
        x.interest_id
        for x in await common.active_members(session, group.id)
        if x.state is MemberState.CONFIRMED and x.interest_id not in absent
    ]
    pages = {iid: await common.member_link(session, lc, group.id, iid, now=now) for iid in coming}
    context = {"org_name": org.name, "meeting_start": m.starts_at, "place": m.place}
    await common.to_participants(
        session, lc, group, org, coming, "meeting_reminder",
        lambda iid: {**context, "info_url": pages[iid]},
        dedupe=f"meeting_reminder:{m.id}", now=now,
    )  # fmt: skip
    if fac is not None:
        await common.to_facilitator(
            session, lc, fac, org, "meeting_reminder",
            {
                **context,
                "for_facilitator": True,
                "group_name": await common.group_name(session, group, org, "nb"),
                "info_url": await common.member_link(session, lc, group.id, fac.id, now=now),
            },
            dedupe_key=f"meeting_reminder:{m.id}:facilitator", now=now,
        )  # fmt: skip


async def reschedule_meeting(
    session: AsyncSession,
    lc: Lifecycle,
    group_id: uuid.UUID,
    number: int,
    *,
    starts_at: datetime,
    place: str | None,
    now: datetime,
    actor: str,
) -> bool:
    """Move a planned meeting. Everyone coming gets ``meeting_changed`` with the updated
    ``.ics`` (same UID, SEQUENCE + 1, so calendars move the event instead of adding one); the
    reminder and check-in follow the new time. False if there is no such planned meeting or
    the new time is not in the future."""
    if starts_at.tzinfo is None or starts_at <= now:
        return False
    row = (
        (
            await session.execute(
                select(group_meeting)
                .where(
                    group_meeting.c.group_id == group_id,
                    group_meeting.c.number == number,
                    group_meeting.c.status == MeetingState.PLANNED,
                )
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )
    group = await common.load_group(session, group_id)
    if row is None or group is None:
        return False
    meeting = Meeting.from_row(row)
    new_place = (place or meeting.place).strip()[:300]
    await session.execute(
        update(group_meeting)
        .where(group_meeting.c.id == meeting.id)
        .values(
            starts_at=starts_at,
            place=new_place,
            sequence=group_meeting.c.sequence + 1,
            reminded_at=None,
            checkin_sent_at=None,
        )
    )
    moved = dataclasses.replace(
        meeting,
        starts_at=starts_at,
        place=new_place,
        sequence=meeting.sequence + 1,
        reminded_at=None,
        checkin_sent_at=None,
    )
    org = await common.organisation(session, group.organisation_id)
    organizer = common.organizer(lc, org)
    if number == 1:
        # The reply deadline still ends 24 hours before the (moved) first meeting.
        await session.execute(
            update(group_member)
            .where(
                group_member.c.group_id == group_id,
                group_member.c.active,
                group_member.c.state.in_(AWAITING_REPLY),
                group_member.c.respond_by > starts_at - timing.REPLY_MARGIN,
            )
            .values(respond_by=starts_at - timing.REPLY_MARGIN)
        )
    coming = await _coming(session, group_id)
    pages = {iid: await common.member_link(session, lc, group_id, iid, now=now) for iid in coming}
    context = {"org_name": org.name, "meeting_number": number, "meeting_start": starts_at,
               "place": new_place}  # fmt: skip
    await common.to_participants(
        session, lc, group, org, coming, "meeting_changed",
        lambda iid: {**context, "info_url": pages[iid]},
        dedupe=f"meeting_changed:{meeting.id}:{moved.sequence}", now=now,
        attachments=lambda _iid, address: (
            invitations.calendar(moved, lc, method=CalendarMethod.REQUEST, now=now,
                             organizer=organizer, attendee=Party(address)),
        ),
    )  # fmt: skip
    # The facilitator runs the meeting: they hear of the move too, with their calendar file.
    fac = await common.facilitator_info(session, group.facilitator_id)
    if fac is not None:
        mine = (Party(fac.email, fac.name, PartStat.ACCEPTED),) if fac.email else ()
        await common.to_facilitator(
            session, lc, fac, org, "meeting_changed",
            {
                **context,
                "for_facilitator": True,
                "group_name": await common.group_name(session, group, org, "nb"),
                "info_url": await common.member_link(session, lc, group_id, fac.id, now=now),
            },
            dedupe_key=f"meeting_changed:{meeting.id}:{moved.sequence}:facilitator", now=now,
            attachments=tuple(
                invitations.calendar(moved, lc, method=CalendarMethod.REQUEST, now=now,
                                 organizer=organizer, attendee=p)
                for p in mine
            ),
        )  # fmt: skip
    await common.event(
        session, group_id, "meeting_rescheduled", now=now, actor=actor, meeting=number,
        starts_at=starts_at.isoformat(),
    )  # fmt: skip
    return True
