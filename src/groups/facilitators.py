"""Finding an igangsetter for a proposed group: start notices, answers, reminders, escalation.

The core already chose a facilitator with capacity, theme and language; the first start
notice goes to them. A decline or silence past the window moves on to the next eligible
facilitator of the catchment (least versatile first, as the core prefers). With nobody left the
organisation's coordinator is told, and the region's coordinator after a further window, so a
group never waits silently. A facilitator registered later is still offered the group.
"""

from __future__ import annotations

import enum
import uuid
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from groups import common, links, timing
from groups.brief import group_brief
from groups.config import Lifecycle
from groups.links import Purpose
from groups.model import Group, GroupState, Offer, OfferState
from groups.tables import facilitator_offer
from groups.timing import Escalation, MeetingTimeStep, OfferStep
from intake import pool
from matching.model import ACROSS
from matching.states import OPEN_GROUP_STATES
from matching.tables import group_event, start_group

OSLO = ZoneInfo("Europe/Oslo")


class OfferAnswer(enum.StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    GONE = "gone"  # the question no longer stands (answered, expired, group ended)


def local_day(now: datetime) -> date:
    """Today in Norway: a pause is given in Oslo dates."""
    return now.astimezone(OSLO).date()


async def eligible(
    session: AsyncSession, group: Group, tried: set[uuid.UUID], *, now: datetime
) -> list[pool.FacilitatorInfo]:
    """Facilitators of the group's organisation who fit it (theme, language, digital), have a
    free start, can be reached, are not paused today and were not asked before (``tried``);
    least versatile first, as the core prefers."""
    busy: Counter[uuid.UUID] = Counter(
        dict(
            (
                await session.execute(
                    select(start_group.c.facilitator_id, func.count())
                    .where(
                        start_group.c.status.in_(OPEN_GROUP_STATES),
                        start_group.c.id != group.id,
                        start_group.c.facilitator_id.is_not(None),
                    )
                    .group_by(start_group.c.facilitator_id)
                )
            ).all()
        )
    )
    wanted = ACROSS if group.theme is None else group.theme
    today = local_day(now)
    found = [
        f
        for f in await pool.facilitators(session)
        if f.organisation_id == group.organisation_id
        and (f.digital or not group.digital)
        and wanted in f.themes
        and group.language in f.languages
        and busy[f.id] < f.max_concurrent_starts
        and f.id not in tried
        and (f.email or f.phone)
        and not f.paused_on(today)
    ]
    return sorted(found, key=lambda f: (len(f.themes) * len(f.languages), str(f.id)))


async def _tried(session: AsyncSession, group_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        (
            await session.execute(
                select(facilitator_offer.c.facilitator_id).where(
                    facilitator_offer.c.group_id == group_id
                )
            )
        ).scalars()
    )


async def offer_next(session: AsyncSession, lc: Lifecycle, group: Group, *, now: datetime) -> bool:
    """Send a start notice to the next eligible facilitator, or escalate. True if sent."""
    gid = group.id
    tried = await _tried(session, gid)
    candidates = await eligible(session, group, tried, now=now)
    chosen = group.facilitator_id
    pick = next((f for f in candidates if f.id == chosen), None) if not tried else None
    pick = pick or (candidates[0] if candidates else None)
    if pick is None:
        org = await common.organisation(session, group.organisation_id)
        await common.set_group(session, gid, facilitator_id=None, updated_at=now)
        await _escalate(session, lc, group, org, now=now)
        return False
    await send_start_notice(session, lc, group, pick, now=now)
    return True


async def send_start_notice(
    session: AsyncSession,
    lc: Lifecycle,
    group: Group,
    pick: pool.FacilitatorInfo,
    *,
    now: datetime,
    actor: str = "lifecycle",
) -> uuid.UUID:
    """Ask ``pick`` to start the group: the offer row, the start notice with its answer links,
    and the event. The job and a staff member's choice (:mod:`groups.manual`) share it, so the
    facilitator gets the same message either way. Returns the offer's id."""
    gid = group.id
    org = await common.organisation(session, group.organisation_id)
    offer_id = uuid.uuid4()
    respond_by = timing.offer_respond_by(now, lc.config)
    await session.execute(
        facilitator_offer.insert().values(
            id=offer_id,
            group_id=gid,
            facilitator_id=pick.id,
            status=OfferState.PENDING,
            sent_at=now,
            respond_by=respond_by,
        )
    )
    await common.set_group(session, gid, facilitator_id=pick.id, updated_at=now)
    brief = await group_brief(session, gid, lang="nb", config=lc.config)
    await common.to_facilitator(
        session,
        lc,
        pick,
        org,
        "start_notice",
        {
            "org_name": org.name,
            "area": brief.area,
            "theme_name": brief.theme_name,
            "cross_problem": brief.cross_problem,
            "participant_count": brief.participants,
            "language_name": brief.language_name,
            "slot_text": brief.slot_text,
            "digital": brief.digital,
            "facilitated_meetings": brief.facilitated_meetings,
            "respond_by": respond_by,
            **await _answer_links(session, lc, offer_id, pick.id, respond_by, now=now),
        },
        dedupe_key=f"start_notice:{offer_id}",
        now=now,
    )
    await common.event(
        session, gid, "start_notice_sent", now=now, actor=actor, facilitator=str(pick.id),
        offer=str(offer_id),
    )  # fmt: skip
    return offer_id


async def _answer_links(
    session: AsyncSession,
    lc: Lifecycle,
    offer_id: uuid.UUID,
    facilitator_id: uuid.UUID,
    respond_by: datetime,
    *,
    now: datetime,
) -> dict[str, str]:
    return {
        key: await common.link(
            session, lc, purpose, offer_id, facilitator_id, expires_at=respond_by, now=now
        )
        for key, purpose in (
            ("accept_url", Purpose.OFFER_ACCEPT),
            ("decline_url", Purpose.OFFER_DECLINE),
        )
    }


async def _escalate(
    session: AsyncSession,
    lc: Lifecycle,
    group: Group,
    org: pool.OrganisationInfo,
    *,
    now: datetime,
) -> None:
    gid = group.id
    step = timing.escalation(group, now, lc.config)
    if step is None:
        return
    context = {"reason": "no_facilitator", **await common.group_alert(session, lc, group, org)}
    if step is Escalation.COORDINATOR:
        target = org.coordinator_email or await pool.region_coordinator(session, org.region_slug)
        if target:
            await common.to_coordinator(
                session, lc, target, org.id, context, dedupe_key=f"nofac:{gid}:org", now=now
            )
        await common.set_group(session, gid, coordinator_alerted_at=now, updated_at=now)
        await common.event(session, gid, "escalated_to_coordinator", now=now, told=bool(target))
    elif step is Escalation.REGION:
        target = await pool.region_coordinator(session, org.region_slug)
        if target:
            await common.to_coordinator(
                session, lc, target, org.id, context, dedupe_key=f"nofac:{gid}:region", now=now
            )
        await common.set_group(session, gid, region_alerted_at=now, updated_at=now)
        await common.event(session, gid, "escalated_to_region", now=now, told=bool(target))


async def answer_offer(
    session: AsyncSession,
    lc: Lifecycle,
    offer_id: uuid.UUID,
    facilitator_id: uuid.UUID,
    *,
    accept: bool,
    now: datetime,
) -> tuple[OfferAnswer, str | None]:
    """A facilitator's yes or no. On yes, returns the URL of the first-meeting form."""
    offer = await load_offer(session, offer_id)
    if offer is None or offer.facilitator_id != facilitator_id:
        return OfferAnswer.GONE, None
    group = await common.load_group(session, offer.group_id)
    if (
        offer.status is not OfferState.PENDING
        or group is None
        or group.status is not GroupState.PROPOSED
    ):
        return OfferAnswer.GONE, None
    gid = group.id
    actor = f"facilitator:{facilitator_id}"
    status = OfferState.ACCEPTED if accept else OfferState.DECLINED
    await session.execute(
        update(facilitator_offer)
        .where(facilitator_offer.c.id == offer_id)
        .values(status=status, answered_at=now)
    )
    await links.retire(session, offer_id, now=now)
    if not accept:
        await common.event(session, gid, "facilitator_declined", now=now, actor=actor)
        await offer_next(session, lc, group, now=now)
        return OfferAnswer.DECLINED, None
    await common.set_group(
        session,
        gid,
        status=GroupState.ACCEPTED,
        facilitator_id=facilitator_id,
        accepted_at=now,
        updated_at=now,
    )
    await common.event(session, gid, "facilitator_accepted", now=now, actor=actor)
    form = await common.link(
        session,
        lc,
        Purpose.MEETING_FORM,
        gid,
        facilitator_id,
        expires_at=timing.meeting_form_expires(now, lc.config),
        now=now,
    )
    return OfferAnswer.ACCEPTED, form


async def load_offer(session: AsyncSession, offer_id: uuid.UUID) -> Offer | None:
    """A start notice, locked for the rest of the transaction."""
    row = (
        (
            await session.execute(
                select(facilitator_offer)
                .where(facilitator_offer.c.id == offer_id)
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else Offer.from_row(row)


async def advance_offers(session: AsyncSession, lc: Lifecycle, *, now: datetime) -> dict[str, int]:
    """Tick step: remind, time out and move on; start notices for groups without an offer."""
    counts = {"start_notices": 0, "facilitator_reminders": 0, "facilitator_timeouts": 0}
    pending = (
        (
            await session.execute(
                select(facilitator_offer)
                .where(facilitator_offer.c.status == OfferState.PENDING)
                .with_for_update(skip_locked=True)
            )
        )
        .mappings()
        .all()
    )
    for offer in map(Offer.from_row, pending):
        group = await common.load_group(session, offer.group_id)
        if group is None:
            continue
        step = timing.offer_step(offer, group, now, lc.config)
        if step is OfferStep.EXPIRE:
            await session.execute(
                update(facilitator_offer)
                .where(facilitator_offer.c.id == offer.id)
                .values(status=OfferState.EXPIRED)
            )
            await links.retire(session, offer.id, now=now)
            await common.event(
                session,
                group.id,
                "facilitator_no_answer",
                now=now,
                facilitator=str(offer.facilitator_id),
            )
            counts["facilitator_timeouts"] += 1
            counts["start_notices"] += await offer_next(session, lc, group, now=now)
        elif step is OfferStep.REMIND:
            fac = await common.facilitator_info(session, offer.facilitator_id)
            org = await common.organisation(session, group.organisation_id)
            if fac is not None:
                await common.to_facilitator(
                    session,
                    lc,
                    fac,
                    org,
                    "facilitator_reminder",
                    {
                        "org_name": org.name,
                        "area": common.area(group, org),
                        "group_name": await common.group_name(session, group, org, "nb"),
                        "respond_by": offer.respond_by,
                        **await _answer_links(
                            session, lc, offer.id, fac.id, offer.respond_by, now=now
                        ),
                    },
                    dedupe_key=f"facilitator_reminder:{offer.id}",
                    now=now,
                )
                counts["facilitator_reminders"] += 1
            await session.execute(
                update(facilitator_offer)
                .where(facilitator_offer.c.id == offer.id)
                .values(reminded_at=now)
            )
    # Proposed groups nobody has been asked about (new, or everyone declined before).
    waiting = (
        await session.execute(
            select(start_group.c.id)
            .where(
                start_group.c.status == GroupState.PROPOSED,
                ~select(facilitator_offer.c.id)
                .where(
                    facilitator_offer.c.group_id == start_group.c.id,
                    facilitator_offer.c.status == OfferState.PENDING,
                )
                .exists(),
            )
            .with_for_update(skip_locked=True)
        )
    ).scalars()
    for gid in list(waiting):
        group = await common.load_group(session, gid)
        if group is not None:
            counts["start_notices"] += await offer_next(session, lc, group, now=now)
    return counts


#: Group events that record the steps of :func:`advance_accepted` (each happens once).
_REMINDED, _ESCALATED = "meeting_time_reminder_sent", "meeting_time_escalated"


async def advance_accepted(
    session: AsyncSession, lc: Lifecycle, *, now: datetime
) -> dict[str, int]:
    """Tick step: a facilitator who said yes but set no first meeting is reminded (with a fresh
    form link) after ``facilitator_reminder_after``; a ``facilitator_window`` later the
    coordinator is told (:func:`groups.timing.meeting_time_step`). A group never waits
    silently."""
    counts = {"meeting_time_reminders": 0, "meeting_time_escalations": 0}
    waiting = (
        (
            await session.execute(
                select(start_group)
                .where(start_group.c.status == GroupState.ACCEPTED)
                .with_for_update(skip_locked=True)
            )
        )
        .mappings()
        .all()
    )
    for group in map(Group.from_row, waiting):
        gid = group.id
        done = set(
            (
                await session.execute(
                    select(group_event.c.what).where(
                        group_event.c.group_id == gid,
                        group_event.c.what.in_((_REMINDED, _ESCALATED)),
                    )
                )
            ).scalars()
        )
        step = timing.meeting_time_step(
            group, reminded=_REMINDED in done, escalated=_ESCALATED in done, now=now,
            config=lc.config,
        )  # fmt: skip
        if step is None:
            continue
        org = await common.organisation(session, group.organisation_id)
        if step is MeetingTimeStep.REMIND:
            fac = await common.facilitator_info(session, group.facilitator_id)
            if fac is not None:
                form = await common.link(
                    session, lc, Purpose.MEETING_FORM, gid, fac.id,
                    expires_at=timing.meeting_form_expires(now, lc.config), now=now,
                )  # fmt: skip
                await common.to_facilitator(
                    session, lc, fac, org, "meeting_time_reminder",
                    {"org_name": org.name, "area": common.area(group, org), "form_url": form,
                     "group_name": await common.group_name(session, group, org, "nb")},
                    dedupe_key=f"meeting_time_reminder:{gid}", now=now,
                )  # fmt: skip
            await common.event(session, gid, _REMINDED, now=now)
            counts["meeting_time_reminders"] += 1
        else:
            target = org.coordinator_email or await pool.region_coordinator(
                session, org.region_slug
            )
            if target:
                await common.to_coordinator(
                    session, lc, target, org.id,
                    {"reason": "no_meeting_time",
                     **await common.group_alert(session, lc, group, org)},
                    dedupe_key=f"no_meeting_time:{gid}", now=now,
                )  # fmt: skip
            await common.event(session, gid, _ESCALATED, now=now, told=bool(target))
            counts["meeting_time_escalations"] += 1
    return counts
