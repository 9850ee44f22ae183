"""After the meetings: the facilitator's check-in, and the follow-up (4 weeks) and review
(6 months) of a group running on its own.

Its own module because these are the facilitator's reports and the requests for them, not the
planning of meetings (:mod:`groups.meetings`); it also holds the small meeting-row helpers both
use, so the dependency runs one way (meetings → checkins).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from groups import common, timing
from groups.config import Lifecycle
from groups.links import Purpose
from groups.model import Group, GroupState, Meeting
from groups.tables import group_meeting
from groups.timing import Aftercare
from intake import pool
from matching.tables import start_group


async def set_meeting(session: AsyncSession, meeting_id: uuid.UUID, **values: Any) -> None:
    await session.execute(
        update(group_meeting).where(group_meeting.c.id == meeting_id).values(**values)
    )


#: Per kind of after-care: the column that records it was asked for, the message, the link.
_AFTERCARE = {
    Aftercare.FOLLOWUP: ("followup_sent_at", "followup_reminder", Purpose.FOLLOWUP),
    Aftercare.REVIEW: ("review_sent_at", "review_reminder", Purpose.REVIEW),
}


async def after_self_running(
    session: AsyncSession, lc: Lifecycle, *, now: datetime
) -> dict[str, int]:
    cfg = lc.config
    counts = {"followups": 0, "reviews": 0}
    for kind, (sent_col, template, purpose) in _AFTERCARE.items():
        rows = (
            (
                await session.execute(
                    select(start_group)
                    .where(
                        start_group.c.status == GroupState.SELF_RUNNING,
                        start_group.c[sent_col].is_(None),
                        start_group.c.self_running_at <= timing.aftercare_cutoff(kind, now, cfg),
                    )
                    .with_for_update(skip_locked=True)
                )
            )
            .mappings()
            .all()
        )
        for group in map(Group.from_row, rows):
            if not timing.aftercare_due(group, kind, now, cfg):
                continue
            fac = await common.facilitator_info(session, group.facilitator_id)
            org = await common.organisation(session, group.organisation_id)
            if fac is not None:
                url = await common.link(
                    session,
                    lc,
                    purpose,
                    group.id,
                    fac.id,
                    expires_at=timing.followup_link_expires(now, cfg),
                    now=now,
                )
                await common.to_facilitator(
                    session,
                    lc,
                    fac,
                    org,
                    template,
                    {
                        "org_name": org.name,
                        f"{kind}_url": url,
                        "group_name": await common.group_name(session, group, org, "nb"),
                    },
                    dedupe_key=f"{template}:{group.id}",
                    now=now,
                )
            await common.set_group(session, group.id, **{sent_col: now})
            await common.event(session, group.id, f"{kind}_requested", now=now)
            counts[f"{kind}s"] += 1
    return counts


async def record_checkin(
    session: AsyncSession,
    lc: Lifecycle,
    meeting_id: uuid.UUID,
    facilitator_id: uuid.UUID,
    *,
    attended: int,
    goes_on: bool,
    follow_up: str,
    now: datetime,
) -> bool:
    """The facilitator's short report after a meeting; 'does not go on' closes the group."""
    m = await load_meeting(session, meeting_id)
    if m is None or m.checkin_at is not None:
        return False
    group = await common.load_group(session, m.group_id)
    if group is None or group.facilitator_id != facilitator_id:
        return False
    await set_meeting(
        session,
        meeting_id,
        checkin_at=now,
        attended=max(0, min(attended, 99)),
        goes_on=goes_on,
        follow_up=follow_up.strip()[:1000] or None,
    )
    actor = f"facilitator:{facilitator_id}"
    await common.event(
        session,
        group.id,
        "checkin",
        now=now,
        actor=actor,
        meeting=m.number,
        attended=attended,
        goes_on=goes_on,
        follow_up=bool(follow_up.strip()),
    )
    if follow_up.strip():
        await _tell_coordinator_note(session, lc, group, m, now=now)
    if not goes_on and group.status in (GroupState.RUNNING, GroupState.SELF_RUNNING):
        from groups.steps import close_group

        await close_group(
            session,
            group.id,
            now=now,
            actor=actor,
            reason=f"stopped after meeting {m.number}",
            config=lc.config,
        )
    return True


async def _tell_coordinator_note(
    session: AsyncSession, lc: Lifecycle, group: Group, m: Meeting, *, now: datetime
) -> None:
    """The facilitator wrote something under "Noe vi bør følge opp?": the coordinator is told
    which group and where to read it (the staff API). The note itself stays out of e-mail:
    it may be about a participant."""
    org = await common.organisation(session, group.organisation_id)
    target = org.coordinator_email or await pool.region_coordinator(session, org.region_slug)
    if not target:
        return
    await common.to_coordinator(
        session, lc, target, org.id,
        {**await common.group_alert(session, lc, group, org), "meeting_numbers": [m.number]},
        dedupe_key=f"checkin_note:{m.id}", now=now, template="checkin_note",
    )  # fmt: skip
    await common.event(session, group.id, "checkin_note_sent", now=now, meeting=m.number)


async def record_followup(
    session: AsyncSession,
    group_id: uuid.UUID,
    facilitator_id: uuid.UUID,
    *,
    kind: str,
    goes_on: bool,
    now: datetime,
    lc: Lifecycle,
) -> bool:
    """Follow-up (4 weeks) or review (6 months) done; a group that stopped is closed."""
    group = await common.load_group(session, group_id)
    if group is None or group.facilitator_id != facilitator_id:
        return False
    actor = f"facilitator:{facilitator_id}"
    await common.set_group(session, group_id, **{f"{kind}_done_at": now})
    await common.event(session, group_id, f"{kind}_done", now=now, actor=actor, goes_on=goes_on)
    if not goes_on and group.status is GroupState.SELF_RUNNING:
        from groups.steps import close_group

        await close_group(
            session, group_id, now=now, actor=actor, reason=f"ended ({kind})", config=lc.config
        )
    return True


async def load_meeting(session: AsyncSession, meeting_id: uuid.UUID) -> Meeting | None:
    """A meeting, locked for the rest of the transaction."""
    row = (
        (
            await session.execute(
                select(group_meeting).where(group_meeting.c.id == meeting_id).with_for_update()
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else Meeting.from_row(row)
