"""Closing a group, and each participant's step in words (for the status page)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from groups import common, links, timing
from groups.config import Lifecycle, LifecycleConfig
from groups.model import GroupState, MeetingState, Member, MemberState, OfferState
from groups.tables import facilitator_offer, group_meeting
from intake import pool
from intake.web.views import date_and_time
from matching.explain import Locale
from matching.states import ACTIVE_MEMBER_STATES, TERMINAL
from matching.tables import group_member, start_group

OSLO = ZoneInfo("Europe/Oslo")


async def close_group(
    session: AsyncSession,
    group_id: uuid.UUID,
    *,
    now: datetime,
    actor: str,
    reason: str,
    config: LifecycleConfig | None = None,
    lc: Lifecycle | None = None,
) -> bool:
    """Close a group with a reason, at any point. False if it had already ended.

    Before the first meeting, members return to the pool with their waiting time. Once it has
    met, they stay placed, and their contact data is erased after ``erase_after``.
    """
    cfg = config or (lc.config if lc else LifecycleConfig())
    group = await common.load_group(session, group_id)
    if group is None or group.status in TERMINAL:
        return False
    members = [m.interest_id for m in await common.active_members(session, group_id)]
    await session.execute(
        update(group_member)
        .where(group_member.c.group_id == group_id, group_member.c.active)
        .values(active=False, state=MemberState.CLOSED)
    )
    values: dict[str, object] = {
        "status": GroupState.CLOSED,
        "closed_at": now,
        "closed_reason": reason[:500],
        "updated_at": now,
    }
    if group.before_start:
        await pool.set_status(
            session, members, "waiting", now=now, only_from=("proposed", "invited", "placed")
        )
    elif (erase_at := timing.erase_on_close(group, now, cfg)) is not None:
        values["erase_contacts_after"] = erase_at
    await common.set_group(session, group_id, **values)
    await session.execute(
        update(facilitator_offer)
        .where(
            facilitator_offer.c.group_id == group_id,
            facilitator_offer.c.status == OfferState.PENDING,
        )
        .values(status=OfferState.WITHDRAWN)
    )
    await session.execute(
        update(group_meeting)
        .where(group_meeting.c.group_id == group_id, group_meeting.c.status == MeetingState.PLANNED)
        .values(status=MeetingState.CANCELLED)
    )
    await links.retire(session, group_id, now=now)
    await common.event(session, group_id, "closed", now=now, actor=actor, reason=reason[:500])
    if lc is not None and not actor.startswith("facilitator:"):
        await common.tell_facilitator_ended(session, lc, group, why=reason[:200], now=now)
    return True


@dataclass(frozen=True, slots=True)
class ParticipantStep:
    """Where a person stands in their group's life cycle.

    ``step``: proposed | offered | invited | confirmed | running | self_running | closed.
    """

    step: str
    text: str
    meeting_start: datetime | None = None
    place: str | None = None
    respond_by: datetime | None = None


_TEXT: dict[str, dict[Locale, str]] = {
    "proposed": {
        "nb": "Du er med i et forslag til en ny gruppe. Vi venter på at en igangsetter sier ja; "
        "så får du vite tid og sted for første møte.",
        "nn": "Du er med i eit forslag til ei ny gruppe. Vi ventar på at ein igangsetjar seier ja; "
        "så får du vite tid og stad for første møte.",
        "en": "You are part of a proposed new group. We are waiting for a facilitator to say yes; "
        "then you will hear the time and place of the first meeting.",
    },
    "accepted": {
        "nb": "En igangsetter har sagt ja til å starte gruppen din. Tid og sted for første møte "
        "kommer snart.",
        "nn": "Ein igangsetjar har sagt ja til å starte gruppa di. Tid og stad for første møte "
        "kjem snart.",
        "en": "A facilitator has agreed to start your group. The time and place of the first "
        "meeting will follow soon.",
    },
    "offered": {
        "nb": "Det er en ledig plass til deg i en gruppe. Svar innen {respond_by}.",
        "nn": "Det er ein ledig plass til deg i ei gruppe. Svar innan {respond_by}.",
        "en": "There is a place for you in a group. Please answer by {respond_by}.",
    },
    "invited": {
        "nb": "Du er invitert til første gruppemøte {meeting} på {place}.",
        "nn": "Du er invitert til første gruppemøte {meeting} på {place}.",
        "en": "You are invited to the first group meeting on {meeting} at {place}.",
    },
    "confirmed": {
        "nb": "Du har takket ja. Første gruppemøte er {meeting} på {place}.",
        "nn": "Du har takka ja. Første gruppemøte er {meeting} på {place}.",
        "en": "You have said yes. The first group meeting is on {meeting} at {place}.",
    },
    "running": {
        "nb": "Gruppen din er i gang. Neste møte er {meeting} på {place}.",
        "nn": "Gruppa di er i gang. Neste møte er {meeting} på {place}.",
        "en": "Your group has started. The next meeting is on {meeting} at {place}.",
    },
    "self_running": {
        "nb": "Gruppen din går nå på egen hånd, uten igangsetter.",
        "nn": "Gruppa di går no på eiga hand, utan igangsetjar.",
        "en": "Your group now runs on its own, without a facilitator.",
    },
    "closed": {
        "nb": "Gruppen din er avsluttet.",
        "nn": "Gruppa di er avslutta.",
        "en": "Your group has ended.",
    },
}


def _when(at: datetime | None, locale: Locale) -> str:
    """Weekday and "kl." as people read a time ("tirsdag 1. desember 2026 kl. 18:00"); the
    status page writes its own dates the same way."""
    return date_and_time(at, locale) if at else ""


async def participant_step(
    session: AsyncSession, interest_id: uuid.UUID, locale: Locale = "nb"
) -> ParticipantStep | None:
    """The person's step in words (nb/nn/en) with the next meeting's time and place.

    None when the person is in no group (waiting: intake's explanation applies).
    """
    row = (
        (
            await session.execute(
                select(group_member, start_group.c.status.label("group_status"))
                .join(start_group, start_group.c.id == group_member.c.group_id)
                .where(group_member.c.interest_id == interest_id)
                .order_by(group_member.c.active.desc(), group_member.c.joined_at.desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    member, gstatus = Member.from_row(row), GroupState(row["group_status"])
    state = member.state
    if not member.active or state not in ACTIVE_MEMBER_STATES:
        if state is MemberState.CLOSED and gstatus is GroupState.CLOSED:
            return ParticipantStep("closed", _TEXT["closed"][locale])
        return None
    meeting = (
        await session.execute(
            select(group_meeting.c.starts_at, group_meeting.c.place)
            .where(
                group_meeting.c.group_id == member.group_id,
                group_meeting.c.status == MeetingState.PLANNED,
            )
            .order_by(group_meeting.c.number)
            .limit(1)
        )
    ).first()
    if gstatus is GroupState.SELF_RUNNING:
        step = "self_running"
    elif gstatus is GroupState.RUNNING:
        step = "running"
    elif state is MemberState.OFFERED:
        step = "offered"
    elif state in (MemberState.INVITED, MemberState.INFORMED):
        step = "invited"
    elif state is MemberState.CONFIRMED:
        step = "confirmed"
    else:
        step = "accepted" if gstatus is GroupState.ACCEPTED else "proposed"
    if step in ("running", "confirmed", "invited") and meeting is None:
        step = "self_running" if step == "running" else "accepted"
    start: datetime | None = meeting.starts_at if meeting else None
    place: str | None = meeting.place if meeting else None
    text = _TEXT[step][locale].format(
        meeting=_when(start, locale),
        place=place or "",
        respond_by=_when(member.respond_by, locale),
    )
    return ParticipantStep(step, text, start, place, member.respond_by)
