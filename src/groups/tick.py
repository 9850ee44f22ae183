"""The one scheduled life-cycle job: advance timeouts, send reminders, erase data.

One transaction per run under a PostgreSQL advisory lock, so any number of replicas (and the
command line) can call it: a second concurrent run returns at once. Row locks taken with
``SKIP LOCKED`` keep it from waiting on a facilitator or participant answering a link at the
same moment; whatever it skips, the next run picks up. Every step is idempotent: states move
forward only, and every message carries a dedupe key.

What is due is decided by the pure rules of :mod:`groups.timing` (a typed row, ``now`` and the
configured windows in, a step out); the steps called here load the rows, ask those rules and
apply the answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups import erasure, facilitators, joiners, meetings, places
from groups.config import Lifecycle

log = logging.getLogger("samhjelp.groups")

#: Advisory lock key of the life-cycle tick (next to matching's 0x5A4D_6865_6C70_0001).
TICK_LOCK = 0x5A4D_6865_6C70_0002


@dataclass
class TickReport:
    ran: bool
    counts: dict[str, int] = field(default_factory=dict)


async def tick(
    sessionmaker: async_sessionmaker[AsyncSession], lc: Lifecycle, *, now: datetime
) -> TickReport:
    """Advance every group by the clock ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    async with sessionmaker() as session, session.begin():
        if not await session.scalar(select(func.pg_try_advisory_xact_lock(TICK_LOCK))):
            return TickReport(ran=False)
        counts: dict[str, int] = {}
        counts["members_withdrawn"] = await erasure.erase_withdrawn(session, lc, now=now)
        counts["replies_expired"] = await places.expire_replies(session, lc, now=now)
        counts["joiners_invited"] = await joiners.invite_joiners(session, lc, now=now)
        counts |= await facilitators.advance_offers(session, lc, now=now)
        counts |= await facilitators.advance_accepted(session, lc, now=now)
        counts |= await meetings.advance_meetings(session, lc, now=now)
        counts |= await erasure.erase_due(session, now=now)
    busy = {k: v for k, v in counts.items() if v}
    if busy:
        log.info("lifecycle tick", extra=busy)
    return TickReport(ran=True, counts=counts)
