"""Erasing people: withdrawal at once, and everyone in a group some time after it ran alone.

After an erasure nothing about the person remains that links back to them (issue 8): the life
cycle first removes what it holds about them — group memberships, personal links, the person
id in group events, their messages in the outbox — and then hands the ids to intake
(:func:`intake.erasure.erase_interests`), which folds the registrations into anonymous counts
and deletes them, in the same transaction.

* :func:`withdraw`: the person withdraws with their receipt code (status page or API). A place
  they held in a group that has not started yet is offered to the next person at once, as
  after a "no" (``places.refill``).
* :func:`erase_due`: ``erase_after`` (``SAMHJELP_ERASE_CONTACTS_AFTER_DAYS``, default 30) after
  a group runs on its own, or is closed after it met, the whole registration of everyone who
  stayed in it is erased (outcome ``placed``), in batches of groups.
* :func:`erase_withdrawn`: rows that an older version only marked 'withdrawn' go the same way.
* ``groups.lapse``: waiting registrations past their keep-until date (no sign of life for
  ``SAMHJELP_LAPSE_AFTER_DAYS``) are handed to :func:`forget` with outcome ``lapsed``; they are
  in no group, so nothing is refilled.

Only counts are logged and recorded in group events, never who.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import Text, bindparam, delete, func, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from groups import common, places, timing
from groups.config import Lifecycle
from groups.model import Group, MemberState
from groups.tables import action_link
from intake import pool
from intake.erasure import Outcome, erase_interests
from matching.states import BEFORE_START
from matching.tables import group_member, start_group
from notify import erase_recipient

log = logging.getLogger("samhjelp.groups")

#: Member states of people who were in the group when it met (others went back to the pool).
STAYED = (
    MemberState.INVITED,
    MemberState.INFORMED,
    MemberState.CONFIRMED,
    MemberState.CLOSED,
    MemberState.WITHDRAWN,
)
#: Groups handled per tick by :func:`erase_due`; the rest wait for the next tick.
GROUP_BATCH = 200

#: Events that named a participant keep what happened, not who: the actor becomes
#: 'participant' and the ``interest`` key leaves the detail. Limited to the person's groups,
#: so the index on ``group_id`` serves it.
_SCRUB_EVENTS = text(
    """
UPDATE group_event
SET actor = CASE WHEN actor = ANY(:actors) THEN 'participant' ELSE actor END,
    detail = detail - 'interest'
WHERE group_id = ANY(:groups)
  AND (actor = ANY(:actors) OR detail->>'interest' = ANY(:ids))
"""
).bindparams(
    bindparam("actors", type_=ARRAY(Text())),
    bindparam("ids", type_=ARRAY(Text())),
    bindparam("groups", type_=ARRAY(UUID(as_uuid=True))),
)


async def forget(
    session: AsyncSession,
    ids: Collection[uuid.UUID],
    *,
    outcome: Outcome,
    now: datetime,
    placed_at: Mapping[uuid.UUID, datetime] | None = None,
) -> tuple[int, set[uuid.UUID]]:
    """Erase these people everywhere; returns (registrations deleted, groups in which they
    held a place before the start, which the caller may refill)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return 0, set()
    rows = (
        await session.execute(
            select(
                group_member.c.group_id,
                group_member.c.active,
                start_group.c.status,
            )
            .join(start_group, start_group.c.id == group_member.c.group_id)
            .where(group_member.c.interest_id.in_(ids))
            .with_for_update(of=group_member)
        )
    ).all()
    groups = {r.group_id for r in rows}
    refill: set[uuid.UUID] = set()
    if outcome == "withdrawn":
        for gid in sorted({r.group_id for r in rows if r.active}):
            # What happened, not who: the group's story keeps that someone left.
            await common.event(session, gid, "member_withdrew", now=now)
        refill = {r.group_id for r in rows if r.active and r.status in BEFORE_START}
    await session.execute(delete(group_member).where(group_member.c.interest_id.in_(ids)))
    await session.execute(
        delete(action_link).where(
            or_(action_link.c.subject_id.in_(ids), action_link.c.object_id.in_(ids))
        )
    )
    if groups:
        await session.execute(
            _SCRUB_EVENTS,
            {
                "actors": [f"interest:{i}" for i in ids],
                "ids": [str(i) for i in ids],
                "groups": sorted(groups),
            },
        )
    await erase_recipient(session, [f"interest:{i}" for i in ids], now=now)
    erased = await erase_interests(session, ids, outcome=outcome, now=now, placed_at=placed_at)
    return erased, refill


async def withdraw(
    session: AsyncSession, lc: Lifecycle, interest_id: uuid.UUID, *, now: datetime
) -> bool:
    """A person withdraws: erased at once; a freed place before the start is offered on.

    False if the registration was already gone (withdrawing twice changes nothing).
    """
    erased, groups = await forget(session, [interest_id], outcome="withdrawn", now=now)
    for gid in sorted(groups):
        await places.refill(session, lc, gid, now=now)
    return erased > 0


async def erase_withdrawn(session: AsyncSession, lc: Lifecycle, *, now: datetime) -> int:
    """Tick step: registrations an older version only marked 'withdrawn' are erased now."""
    ids = list(
        (
            await session.execute(
                pool.withdrawn_ids().limit(1000).with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    erased, groups = await forget(session, ids, outcome="withdrawn", now=now)
    for gid in sorted(groups):
        await places.refill(session, lc, gid, now=now)
    return erased


async def erase_due(session: AsyncSession, *, now: datetime) -> dict[str, int]:
    """Tick step: erase everyone who stayed in groups whose erasure time has come."""
    rows = (
        (
            await session.execute(
                select(start_group)
                .where(
                    start_group.c.erase_contacts_after <= now,
                    start_group.c.contacts_erased_at.is_(None),
                )
                .order_by(start_group.c.erase_contacts_after)
                .limit(GROUP_BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        .mappings()
        .all()
    )
    groups = [g for g in map(Group.from_row, rows) if timing.erase_due(g, now)]
    counts = {"groups_erased": 0, "people_erased": 0}
    if not groups:
        return counts
    gids = [g.id for g in groups]
    placed_on = {g.id: g.started_at or g.self_running_at or now for g in groups}
    stayed = (
        await session.execute(
            select(group_member.c.group_id, group_member.c.interest_id).where(
                group_member.c.group_id.in_(gids), group_member.c.state.in_(STAYED)
            )
        )
    ).all()
    # Someone who has since returned to the pool, or sits in another group whose time has not
    # come, still needs their registration.
    elsewhere = set(
        (
            await session.execute(
                select(group_member.c.interest_id)
                .join(start_group, start_group.c.id == group_member.c.group_id)
                .where(
                    group_member.c.interest_id.in_([s.interest_id for s in stayed]),
                    group_member.c.active,
                    group_member.c.group_id.not_in(gids),
                    start_group.c.contacts_erased_at.is_(None),
                    func.coalesce(start_group.c.erase_contacts_after > now, True),
                )
            )
        ).scalars()
    )
    profiles = await pool.profiles(session, [s.interest_id for s in stayed])
    placed_at: dict[uuid.UUID, datetime] = {}
    gone: list[uuid.UUID] = []
    for s in stayed:
        p = profiles.get(s.interest_id)
        if p is None or s.interest_id in elsewhere:
            continue
        if p.status == "placed":
            placed_at[s.interest_id] = placed_on[s.group_id]
        elif p.status == "withdrawn":
            gone.append(s.interest_id)
    erased, _ = await forget(
        session, list(placed_at), outcome="placed", now=now, placed_at=placed_at
    )
    erased_withdrawn, _ = await forget(session, gone, outcome="withdrawn", now=now)
    for gid in gids:
        people = sum(1 for s in stayed if s.group_id == gid and s.interest_id in placed_at)
        await common.set_group(session, gid, contacts_erased_at=now)
        await common.event(session, gid, "people_erased", now=now, people=people)
    counts["groups_erased"] = len(gids)
    counts["people_erased"] = erased + erased_withdrawn
    log.info("registrations erased after self-running", extra=counts)
    return counts
