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
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from groups import common, links
from groups.config import Lifecycle
from groups.links import Purpose
from groups.tables import facilitator_offer
from intake import pool
from matching.model import ACROSS
from matching.tables import OPEN_GROUP_STATES, start_group


class OfferAnswer(enum.StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    GONE = "gone"  # the question no longer stands (answered, expired, group ended)


async def _eligible(
    session: AsyncSession, group: Mapping[Any, Any], tried: set[uuid.UUID]
) -> list[pool.FacilitatorInfo]:
    busy: Counter[uuid.UUID] = Counter(
        dict(
            (
                await session.execute(
                    select(start_group.c.facilitator_id, func.count())
                    .where(
                        start_group.c.status.in_(OPEN_GROUP_STATES),
                        start_group.c.id != group["id"],
                        start_group.c.facilitator_id.is_not(None),
                    )
                    .group_by(start_group.c.facilitator_id)
                )
            ).all()
        )
    )
    wanted = ACROSS if group["theme"] is None else group["theme"]
    found = [
        f
        for f in await pool.facilitators(session)
        if f.organisation_id == group["organisation_id"]
        and (f.digital or not group["digital"])
        and wanted in f.themes
        and group["language"] in f.languages
        and busy[f.id] < f.max_concurrent_starts
        and f.id not in tried
        and (f.email or f.phone)
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


async def offer_next(
    session: AsyncSession, lc: Lifecycle, group: Mapping[Any, Any], *, now: datetime
) -> bool:
    """Send a start notice to the next eligible facilitator, or escalate. True if sent."""
    gid: uuid.UUID = group["id"]
    tried = await _tried(session, gid)
    candidates = await _eligible(session, group, tried)
    chosen = group["facilitator_id"]
    pick = next((f for f in candidates if f.id == chosen), None) if not tried else None
    pick = pick or (candidates[0] if candidates else None)
    org = await common.organisation(session, group["organisation_id"])
    if pick is None:
        await common.set_group(session, gid, facilitator_id=None, updated_at=now)
        await _escalate(session, lc, group, org, now=now)
        return False
    offer_id = uuid.uuid4()
    respond_by = now + lc.config.facilitator_window
    await session.execute(
        facilitator_offer.insert().values(
            id=offer_id,
            group_id=gid,
            facilitator_id=pick.id,
            status="pending",
            sent_at=now,
            respond_by=respond_by,
        )
    )
    await common.set_group(session, gid, facilitator_id=pick.id, updated_at=now)
    members = await common.active_members(session, gid)
    await common.to_facilitator(
        session,
        lc,
        pick,
        org,
        "start_notice",
        {
            "org_name": org.name,
            "area": common.area(group, org),
            "theme_name": common.theme_name(group["theme"], "nb"),
            "participant_count": len(members),
            "respond_by": respond_by,
            **await _answer_links(session, lc, offer_id, pick.id, respond_by, now=now),
        },
        dedupe_key=f"start_notice:{offer_id}",
        now=now,
    )
    await common.event(
        session, gid, "start_notice_sent", now=now, facilitator=str(pick.id), offer=str(offer_id)
    )
    return True


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
    group: Mapping[Any, Any],
    org: pool.OrganisationInfo,
    *,
    now: datetime,
) -> None:
    gid: uuid.UUID = group["id"]
    context = {"reason": "no_facilitator", "reference": common.reference(gid)}
    if group["coordinator_alerted_at"] is None:
        target = org.coordinator_email or await pool.region_coordinator(session, org.region_slug)
        if target:
            await common.to_coordinator(
                session, lc, target, org.id, context, dedupe_key=f"nofac:{gid}:org", now=now
            )
        await common.set_group(session, gid, coordinator_alerted_at=now, updated_at=now)
        await common.event(session, gid, "escalated_to_coordinator", now=now, told=bool(target))
        return
    if group["region_alerted_at"] is None and (
        now >= group["coordinator_alerted_at"] + lc.config.region_escalation_after
    ):
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
    offer = (
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
    if offer is None or offer["facilitator_id"] != facilitator_id:
        return OfferAnswer.GONE, None
    group = await common.load_group(session, offer["group_id"])
    if offer["status"] != "pending" or group is None or group["status"] != "proposed":
        return OfferAnswer.GONE, None
    gid: uuid.UUID = group["id"]
    actor = f"facilitator:{facilitator_id}"
    status = "accepted" if accept else "declined"
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
        status="accepted",
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
        expires_at=now + lc.config.meeting_form_valid,
        now=now,
    )
    return OfferAnswer.ACCEPTED, form


async def advance_offers(session: AsyncSession, lc: Lifecycle, *, now: datetime) -> dict[str, int]:
    """Tick step: remind, time out and move on; start notices for groups without an offer."""
    counts = {"start_notices": 0, "facilitator_reminders": 0, "facilitator_timeouts": 0}
    pending = (
        (
            await session.execute(
                select(facilitator_offer)
                .where(facilitator_offer.c.status == "pending")
                .with_for_update(skip_locked=True)
            )
        )
        .mappings()
        .all()
    )
    for offer in pending:
        group = await common.load_group(session, offer["group_id"])
        if group is None or group["status"] != "proposed":
            continue
        if now >= offer["respond_by"]:
            await session.execute(
                update(facilitator_offer)
                .where(facilitator_offer.c.id == offer["id"])
                .values(status="expired")
            )
            await links.retire(session, offer["id"], now=now)
            await common.event(
                session,
                group["id"],
                "facilitator_no_answer",
                now=now,
                facilitator=str(offer["facilitator_id"]),
            )
            counts["facilitator_timeouts"] += 1
            counts["start_notices"] += await offer_next(session, lc, group, now=now)
        elif offer["reminded_at"] is None and (
            now >= offer["sent_at"] + lc.config.facilitator_reminder_after
        ):
            fac = await common.facilitator_info(session, offer["facilitator_id"])
            org = await common.organisation(session, group["organisation_id"])
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
                        "respond_by": offer["respond_by"],
                        **await _answer_links(
                            session, lc, offer["id"], fac.id, offer["respond_by"], now=now
                        ),
                    },
                    dedupe_key=f"facilitator_reminder:{offer['id']}",
                    now=now,
                )
                counts["facilitator_reminders"] += 1
            await session.execute(
                update(facilitator_offer)
                .where(facilitator_offer.c.id == offer["id"])
                .values(reminded_at=now)
            )
    # Proposed groups nobody has been asked about (new, or everyone declined before).
    waiting = (
        await session.execute(
            select(start_group.c.id)
            .where(
                start_group.c.status == "proposed",
                ~select(facilitator_offer.c.id)
                .where(
                    facilitator_offer.c.group_id == start_group.c.id,
                    facilitator_offer.c.status == "pending",
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


async def advance_accepted(
    session: AsyncSession, lc: Lifecycle, *, now: datetime
) -> dict[str, int]:
    """Tick step: a facilitator who said yes but set no first meeting is reminded (with a fresh
    form link) after ``facilitator_reminder_after``; a ``facilitator_window`` later the
    coordinator is told. A group never waits silently."""
    counts = {"meeting_time_reminders": 0, "meeting_time_escalations": 0}
    waiting = (
        (
            await session.execute(
                select(start_group)
                .where(start_group.c.status == "accepted")
                .with_for_update(skip_locked=True)
            )
        )
        .mappings()
        .all()
    )
    for group in waiting:
        gid: uuid.UUID = group["id"]
        since = now - group["accepted_at"]
        if since < lc.config.facilitator_reminder_after:
            continue
        org = await common.organisation(session, group["organisation_id"])
        if not await common.has_event(session, gid, "meeting_time_reminder_sent"):
            fac = await common.facilitator_info(session, group["facilitator_id"])
            if fac is not None:
                form = await common.link(
                    session, lc, Purpose.MEETING_FORM, gid, fac.id,
                    expires_at=now + lc.config.meeting_form_valid, now=now,
                )  # fmt: skip
                await common.to_facilitator(
                    session, lc, fac, org, "meeting_time_reminder",
                    {"org_name": org.name, "area": common.area(group, org), "form_url": form},
                    dedupe_key=f"meeting_time_reminder:{gid}", now=now,
                )  # fmt: skip
            await common.event(session, gid, "meeting_time_reminder_sent", now=now)
            counts["meeting_time_reminders"] += 1
        elif since >= lc.config.facilitator_reminder_after + lc.config.facilitator_window and (
            not await common.has_event(session, gid, "meeting_time_escalated")
        ):
            target = org.coordinator_email or await pool.region_coordinator(
                session, org.region_slug
            )
            if target:
                await common.to_coordinator(
                    session, lc, target, org.id,
                    {"reason": "no_meeting_time", "reference": common.reference(gid)},
                    dedupe_key=f"no_meeting_time:{gid}", now=now,
                )  # fmt: skip
            await common.event(session, gid, "meeting_time_escalated", now=now, told=bool(target))
            counts["meeting_time_escalations"] += 1
    return counts
