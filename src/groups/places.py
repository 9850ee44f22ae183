"""Freed places: leaving back to the pool, offering a place to the next waiting person, and
lapsing a group that falls below its minimum.

A decline or a reply window that passes frees the place: the person returns to the pool with
their original waiting time, and the next compatible waiting person (longest waiting first) is
offered the place. If the group then has fewer active members than its minimum before it
starts, it lapses: everyone returns to the pool and is told (``group_cancelled``, with a
calendar cancellation for those who had the invitation). Its own module because the tick,
erasure and participants' answers all free places the same way.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from groups import common, invitations, links, timing
from groups.compat import Person, Seat, fits
from groups.config import Lifecycle
from groups.links import Purpose
from groups.model import Group, GroupState, MeetingState, Member, MemberState, OfferState
from groups.service import lapse_group
from groups.tables import facilitator_offer, group_meeting
from groups.timing import invitation_deadline
from intake import pool
from matching.model import Rules
from matching.service import rules_from
from matching.states import AWAITING_REPLY, BEFORE_START
from matching.tables import group_member, start_group
from notify import CalendarMethod


async def leave(
    session: AsyncSession,
    group_id: uuid.UUID,
    interest_id: uuid.UUID,
    *,
    state: MemberState,
    now: datetime,
) -> None:
    await common.set_member(
        session, group_id, interest_id, active=False, state=state, answered_at=now
    )
    await pool.set_status(
        session, [interest_id], "waiting", now=now, only_from=("proposed", "invited", "placed")
    )


def _rules(group: Group) -> Rules:
    return rules_from(dict(group.rules))


async def refill(
    session: AsyncSession, lc: Lifecycle, group_id: uuid.UUID, *, now: datetime
) -> int:
    """Offer freed places to compatible waiting people; lapse the group if it is too small.

    Returns the number of places offered.
    """
    group = await common.load_group(session, group_id)
    if group is None or not group.before_start:
        return 0
    rules = _rules(group)
    members = await common.active_members(session, group_id)
    places = group.places or max(len(members), rules.min_size)
    free = places - len(members)
    offered = 0
    if free > 0:
        everyone = set(
            (
                await session.execute(
                    select(group_member.c.interest_id).where(group_member.c.group_id == group_id)
                )
            ).scalars()
        )
        profiles = await pool.profiles(session, [m.interest_id for m in members])
        people = [Person(p.age_band, p.gender, p.same_gender) for p in profiles.values()]
        seat = Seat(
            group.theme,
            group.language,
            group.slot,
            rules.max_age_span,
            rules.cross_problem_after_days,
        )
        orgs = (
            None
            if group.digital and rules.pool_digital_across_catchments
            else [group.organisation_id]
        )
        pool_rows = await pool.waiting_for_place(
            session,
            organisation_ids=orgs,
            digital=group.digital,
            language=group.language,
            slot=group.slot,
            exclude=everyone,
        )
        for w in pool_rows:
            if offered >= free:
                break
            person = Person(w.age_band, w.gender, w.same_gender)
            fit = fits(
                person,
                themes=w.themes,
                cross_problem_welcome=w.cross_problem_welcome,
                languages=w.languages,
                slots=w.slots,
                waiting_since=w.waiting_since,
                seat=seat,
                members=people,
                now=now,
            )
            if fit and await _offer_place(session, lc, group, w.id, now=now):
                people.append(person)
                offered += 1
    if len(members) + offered < rules.min_size:
        await cancel(session, lc, group, why="below_minimum", now=now)
    return offered


async def _offer_place(
    session: AsyncSession,
    lc: Lifecycle,
    group: Group,
    interest_id: uuid.UUID,
    *,
    now: datetime,
) -> bool:
    gid = group.id
    first = await invitations.first_meeting(session, gid)
    respond_by = invitation_deadline(now, first.starts_at if first else None, lc.config)
    if respond_by <= now:  # too close to the first meeting to answer in time
        return False
    moved = await pool.set_status(
        session, [interest_id], "proposed", now=now, only_from=("waiting",)
    )
    if not moved:
        return False
    await session.execute(
        group_member.insert().values(
            group_id=gid,
            interest_id=interest_id,
            joined_at=now,
            state=MemberState.OFFERED,
            respond_by=respond_by,
        )
    )
    org = await common.organisation(session, group.organisation_id)
    lang = common.participant_lang(group)
    context = {
        "org_name": org.name,
        "theme_name": common.theme_name(group.theme, lang),
        "respond_by": respond_by,
        "accept_url": await common.link(
            session, lc, Purpose.PLACE_ACCEPT, gid, interest_id, expires_at=respond_by, now=now
        ),
        "decline_url": await common.link(
            session, lc, Purpose.PLACE_DECLINE, gid, interest_id, expires_at=respond_by, now=now
        ),
    }
    await common.to_participants(
        session,
        lc,
        group,
        org,
        [interest_id],
        "place_offered",
        context,
        dedupe=f"place_offered:{gid}",
        now=now,
    )
    await common.event(session, gid, "place_offered", now=now, interest=str(interest_id))
    return True


async def cancel(
    session: AsyncSession, lc: Lifecycle, group: Group, *, why: str, now: datetime
) -> list[uuid.UUID]:
    """The group cannot start: everyone back to the pool (keeping their waiting time), told."""
    gid = group.id
    members = await common.active_members(session, gid)
    had_invitation = {
        m.interest_id for m in members if m.state in (MemberState.INVITED, MemberState.CONFIRMED)
    }
    meeting = await invitations.first_meeting(session, gid)
    returned = await lapse_group(session, gid, now=now, actor="lifecycle", why=why)
    await session.execute(
        facilitator_offer.update()
        .where(
            facilitator_offer.c.group_id == gid,
            facilitator_offer.c.status == OfferState.PENDING,
        )
        .values(status=OfferState.WITHDRAWN)
    )
    await session.execute(
        group_meeting.update()
        .where(group_meeting.c.group_id == gid, group_meeting.c.status == MeetingState.PLANNED)
        .values(status=MeetingState.CANCELLED, sequence=group_meeting.c.sequence + 1)
    )
    await links.retire(session, gid, now=now)
    org = await common.organisation(session, group.organisation_id)
    ics = (
        invitations.calendar(meeting, lc, method=CalendarMethod.CANCEL, now=now)
        if meeting
        else None
    )
    await common.to_participants(
        session,
        lc,
        group,
        org,
        returned,
        "group_cancelled",
        {"org_name": org.name, "min_size": _rules(group).min_size},
        dedupe=f"group_cancelled:{gid}",
        now=now,
        attachments=lambda iid, _address: (
            (ics,) if ics is not None and iid in had_invitation else ()
        ),
    )
    await common.tell_facilitator_ended(session, lc, group, why=why, now=now)
    return returned


async def expire_replies(session: AsyncSession, lc: Lifecycle, *, now: datetime) -> int:
    """Tick step: invitations and place offers whose window passed free their place
    (:func:`groups.timing.reply_expired`)."""
    rows = (
        await session.execute(
            select(group_member, start_group.c.status.label("group_status"))
            .join(start_group, start_group.c.id == group_member.c.group_id)
            .where(
                group_member.c.active,
                group_member.c.state.in_(AWAITING_REPLY),
                group_member.c.respond_by <= now,
                start_group.c.status.in_(BEFORE_START),
            )
            .with_for_update(of=group_member, skip_locked=True)
        )
    ).all()
    expired = [
        member
        for member, group_status in ((Member.from_row(r._mapping), r.group_status) for r in rows)
        if timing.reply_expired(member, GroupState(group_status), now)
    ]
    groups: set[uuid.UUID] = set()
    for m in expired:
        await leave(session, m.group_id, m.interest_id, state=MemberState.EXPIRED, now=now)
        await common.event(
            session, m.group_id, "member_no_reply", now=now, interest=str(m.interest_id)
        )
        groups.add(m.group_id)
    for gid in sorted(groups):
        await refill(session, lc, gid, now=now)
    return len(expired)
