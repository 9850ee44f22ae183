"""Erasing participants' contact data once it is no longer needed.

30 days (``erase_after``) after a group runs on its own, or is closed after it met, its
participants' contact channels are erased in intake and their messages scrubbed in notify
(``erase_recipient``). Withdrawals erase at once (intake) and :func:`members_gone` scrubs
their messages on the next tick. Only counts are logged, never who.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from intake import pool
from matching.lifecycle import common
from matching.tables import group_member, start_group
from notify import erase_recipient

log = logging.getLogger("samhjelp.matching.lifecycle")

#: Member states of people who were in the group when it met (others went back to the pool).
STAYED = ("invited", "informed", "confirmed", "closed", "withdrawn")


async def erase_due(session: AsyncSession, *, now: datetime) -> dict[str, int]:
    groups = (
        await session.execute(
            select(start_group.c.id)
            .where(
                start_group.c.erase_contacts_after <= now,
                start_group.c.contacts_erased_at.is_(None),
            )
            .with_for_update(skip_locked=True)
        )
    ).scalars()
    counts = {"groups_erased": 0, "contacts_erased": 0, "messages_scrubbed": 0}
    for gid in list(groups):
        rows = (
            await session.execute(
                select(group_member.c.interest_id).where(
                    group_member.c.group_id == gid,
                    group_member.c.state.in_(STAYED),
                    group_member.c.contact_erased_at.is_(None),
                )
            )
        ).scalars()
        ids = list(rows)
        profiles = await pool.profiles(session, ids)
        # Someone who has since returned to the pool still needs their contact channel.
        ids = [i for i in ids if profiles.get(i) and profiles[i].status in ("placed", "withdrawn")]
        counts["contacts_erased"] += await pool.erase_contacts(session, ids, now=now)
        for iid in ids:
            counts["messages_scrubbed"] += await erase_recipient(
                session, f"interest:{iid}", now=now
            )
        if ids:
            await session.execute(
                update(group_member)
                .where(group_member.c.group_id == gid, group_member.c.interest_id.in_(ids))
                .values(contact_erased_at=now)
            )
        await common.set_group(session, gid, contacts_erased_at=now)
        await common.event(session, gid, "contacts_erased", now=now, people=len(ids))
        counts["groups_erased"] += 1
    if counts["groups_erased"]:
        log.info("contact data erased", extra=counts)
    return counts
