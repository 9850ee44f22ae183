"""People who joined a group after its first meeting was set: invite them (tick step).

The matching job fills open groups before it forms new ones (:mod:`matching.fill`): someone who
joins a group still proposed or accepted is a proposed member like the others and is invited
with them when the facilitator sets the first meeting. Someone who joins a group whose
meetings are already planned (``scheduled``) needs their own invitation: the matching job
cannot send it (it has no links or messages: ``groups`` sits above ``matching``), so this tick
step invites every proposed member of a scheduled group, with the meetings, the calendar file
and a reply window that ends :data:`groups.timing.REPLY_MARGIN` before meeting 1. Someone for
whom that window would already be over goes back to the pool with their waiting time (the
job closes groups to newcomers well before that, so this only happens if the tick was held up).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from groups import common, invitations, places
from groups.config import Lifecycle
from groups.model import GroupState, MemberState
from groups.timing import invitation_deadline
from matching.tables import group_member, start_group


async def invite_joiners(session: AsyncSession, lc: Lifecycle, *, now: datetime) -> int:
    """Invite proposed members of scheduled groups; returns how many were invited or told."""
    gids = sorted(
        set(
            (
                await session.execute(
                    select(group_member.c.group_id)
                    .join(start_group, start_group.c.id == group_member.c.group_id)
                    .where(
                        start_group.c.status == GroupState.SCHEDULED,
                        group_member.c.active,
                        group_member.c.state == MemberState.PROPOSED,
                    )
                    .with_for_update(of=start_group, skip_locked=True)
                )
            ).scalars()
        )
    )
    done = 0
    for gid in gids:
        group = await common.load_group(session, gid)
        meeting = await invitations.first_meeting(session, gid)
        if group is None or group.status is not GroupState.SCHEDULED or meeting is None:
            continue
        if invitation_deadline(now, meeting.starts_at, lc.config) <= now:
            late = [
                m.interest_id
                for m in await common.active_members(session, gid)
                if m.state is MemberState.PROPOSED
            ]
            for iid in late:
                await places.leave(session, gid, iid, state=MemberState.EXPIRED, now=now)
                await common.event(session, gid, "member_no_reply", now=now, interest=str(iid))
            continue
        counts = await invitations.invite(session, lc, group, meeting, now=now)
        done += counts["invited"] + counts["informed"]
    return done
