"""Participants of a forming group: invitations, answers, freed places and lapsing.

A decline or a reply window that passes frees the place: the person returns to the pool with
their original waiting time, and the next compatible waiting person (longest waiting first) is
offered the place. If the group then has fewer active members than its minimum before it
starts, it lapses: everyone returns to the pool and is told (``group_cancelled``, with a
calendar cancellation for those who had the invitation).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from groups import common, links, timing
from groups.brief import on_slot, slot_text
from groups.compat import Person, Seat, fits
from groups.config import Lifecycle
from groups.links import Purpose
from groups.model import Group, GroupState, Meeting, MeetingState, Member, MemberState, OfferState
from groups.service import lapse_group
from groups.tables import facilitator_offer, group_meeting, meeting_absence
from groups.timing import invitation_deadline
from intake import pool
from matching.model import Rules
from matching.service import rules_from
from matching.states import AWAITING_REPLY, BEFORE_START
from matching.tables import group_member, start_group
from notify import Attachment, CalendarMethod, MeetingEvent, Party, meeting_attachment

SUMMARY = "Gruppemøte"  # neutral: calendar entries never name the theme


class Answer(enum.StrEnum):
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    GONE = "gone"


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
        meeting = await first_meeting(session, group_id)
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
    await _leave(session, group_id, interest_id, state=MemberState.DECLINED, now=now)
    await common.event(session, group_id, "member_declined", now=now, actor=actor)
    await refill(session, lc, group_id, now=now)
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


async def _leave(
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
    first = await first_meeting(session, gid)
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
    meeting = await first_meeting(session, gid)
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
    ics = calendar(meeting, lc, method=CalendarMethod.CANCEL, now=now) if meeting else None
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
        await _leave(session, m.group_id, m.interest_id, state=MemberState.EXPIRED, now=now)
        await common.event(
            session, m.group_id, "member_no_reply", now=now, interest=str(m.interest_id)
        )
        groups.add(m.group_id)
    for gid in sorted(groups):
        await refill(session, lc, gid, now=now)
    return len(expired)


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
        (m for m in await planned_meetings(session, group_id) if m.id == meeting_id), None
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
    coming = [m for m in await planned_meetings(session, group_id) if m.starts_at > now]
    await _leave(session, group_id, interest_id, state=MemberState.LEFT, now=now)
    await common.event(session, group_id, "member_left", now=now, actor=f"interest:{interest_id}")
    org = await common.organisation(session, group.organisation_id)
    organizer = common.organizer(lc, org)
    await common.to_participants(
        session, lc, group, org, [interest_id], "group_left",
        {"org_name": org.name, "back_in_queue": True},
        dedupe=f"group_left:{group_id}", now=now,
        attachments=lambda _iid, address: (
            (calendar(coming, lc, method=CalendarMethod.CANCEL, now=now, organizer=organizer,
                      attendee=Party(address)),)
            if coming else ()
        ),
    )  # fmt: skip
    await _tell_facilitator(session, lc, group, "left", coming[0] if coming else None, now=now,
                            key=f"left:{common.person_key(lc, interest_id)}")  # fmt: skip
    if group.before_start:
        await refill(session, lc, group_id, now=now)
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
