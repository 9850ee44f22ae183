"""The imperative shell around the pure core: load the pool, run ``form_groups``, store.

Runs inside the caller's transaction. Inputs come from intake's service functions
(:mod:`intake.pool`); results go to matching's own tables and back through
:func:`intake.pool.set_status`.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ScalarSelect, column, func, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from intake import pool
from intake.tables import interest
from matching import notes
from matching.algorithm import form_groups
from matching.fill import Addition, OpenGroup, seated
from matching.model import (
    Candidate,
    Facilitator,
    Plan,
    RuleBook,
    Rules,
)
from matching.states import BEFORE_START, MemberState
from matching.tables import (
    ACTIVE_MEMBER_STATES,
    OPEN_GROUP_STATES,
    group_event,
    group_member,
    match_run,
    start_group,
)

log = logging.getLogger("samhjelp.matching")

_RULE_FIELDS = {f.name for f in dataclasses.fields(Rules)}
_OSLO = ZoneInfo("Europe/Oslo")

#: An open group takes no newcomers from this long before its first meeting: the life cycle's
#: reply margin (24 h before meeting 1, ``groups.timing.REPLY_MARGIN``) plus at least a day to
#: answer the invitation (tests/unit/matching/test_fill_shell.py keeps the two in step).
FILL_CLOSES_BEFORE_FIRST_MEETING = timedelta(hours=48)

# The life cycle's meeting table (groups.tables.group_meeting), named here without importing
# groups, which sits above matching.
_group_meeting = table(
    "group_meeting", column("group_id"), column("number"), column("starts_at"), column("status")
)


@dataclass(frozen=True)
class Inputs:
    candidates: list[Candidate]
    facilitators: list[Facilitator]
    rules: RuleBook
    organisation_names: dict[str, str]
    #: Groups that have not met yet and may take more people (``matching.fill``).
    open_groups: list[OpenGroup] = field(default_factory=list)


def candidate_from(w: pool.WaitingInterest) -> Candidate:
    # People in a municipality no organisation serves belong to their region's demand; they can
    # be placed in digital groups pooled across catchments, or once an organisation appears.
    org = str(w.organisation_id) if w.organisation_id else f"region:{w.region_slug}"
    return Candidate(
        id=str(w.id),
        organisation=org,
        municipality=w.municipality,
        themes=w.themes,
        cross_problem_welcome=w.cross_problem_welcome,
        age_band=w.age_band,
        gender=w.gender,  # type: ignore[arg-type]
        same_gender=w.same_gender and w.gender is not None,
        languages=w.languages,
        slots=w.slots,
        digital_welcome=w.digital_welcome,
        waiting_since=w.waiting_since,
    )


def rules_from(overrides: dict[str, Any]) -> Rules:
    """An organisation's rule overrides (JSON) on top of the defaults; unknown keys ignored."""
    known = {k: v for k, v in overrides.items() if k in _RULE_FIELDS}
    return dataclasses.replace(Rules(), **known)


async def load_inputs(session: AsyncSession, *, now: datetime, lock: bool = True) -> Inputs:
    """The pool, the rules and the facilitators with their free starts on the run's day.

    A facilitator paused on that day (an Oslo date, as staff set it) gives no capacity: the
    proposal would otherwise name someone the start notice must skip.
    """
    today = now.astimezone(_OSLO).date()
    waiting = await pool.waiting_pool(session, lock=lock)
    orgs = await pool.organisations(session)
    busy: Counter[uuid.UUID] = Counter(
        dict(
            (
                await session.execute(
                    select(start_group.c.facilitator_id, func.count())
                    .where(start_group.c.status.in_(OPEN_GROUP_STATES))
                    .group_by(start_group.c.facilitator_id)
                )
            ).all()
        )
    )
    facilitators = [
        Facilitator(
            id=str(f.id),
            organisation=str(f.organisation_id),
            themes=f.themes,
            languages=f.languages,
            free_starts=max(0, f.max_concurrent_starts - busy[f.id]),
            digital=f.digital,
        )
        for f in await pool.facilitators(session)
        if not f.paused_on(today)
    ]
    book = RuleBook(overrides={str(o.id): rules_from(o.rules) for o in orgs.values() if o.rules})
    return Inputs(
        candidates=[candidate_from(w) for w in waiting],
        facilitators=facilitators,
        rules=book,
        organisation_names={str(o.id): o.name for o in orgs.values()},
        open_groups=await open_groups(session, lock=lock),
    )


async def open_groups(session: AsyncSession, *, lock: bool = True) -> list[OpenGroup]:
    """Groups that have not met yet (proposed, accepted, scheduled), with their members.

    With ``lock`` the group rows stay locked until the run's transaction ends, so the life
    cycle cannot lapse or start a group while the run adds people to it (a group the tick
    holds at that moment is skipped: the next run sees it). People who were in the group
    before (declined, no reply) are not offered it again.
    """
    stmt = select(start_group).where(start_group.c.status.in_(BEFORE_START))
    if lock:
        stmt = stmt.with_for_update(of=start_group, skip_locked=True)
    groups = (await session.execute(stmt)).mappings().all()
    if not groups:
        return []
    ids = [g["id"] for g in groups]
    members = (
        await session.execute(
            select(
                group_member.c.group_id,
                group_member.c.interest_id,
                group_member.c.active,
                group_member.c.state,
            ).where(pool.among(group_member.c.group_id, ids))
        )
    ).all()
    firsts = dict(
        (
            await session.execute(
                select(_group_meeting.c.group_id, _group_meeting.c.starts_at).where(
                    pool.among(_group_meeting.c.group_id, ids), _group_meeting.c.number == 1
                )
            )
        ).all()
    )
    active = [m.interest_id for m in members if m.active and m.state in ACTIVE_MEMBER_STATES]
    profiles = {w.id: seated(candidate_from(w)) for w in await pool.interests(session, active)}
    seats: dict[uuid.UUID, list[uuid.UUID]] = {}
    former: dict[uuid.UUID, set[str]] = {}
    for m in members:
        if m.active and m.state in ACTIVE_MEMBER_STATES and m.interest_id in profiles:
            seats.setdefault(m.group_id, []).append(m.interest_id)
        else:
            former.setdefault(m.group_id, set()).add(str(m.interest_id))
    out = []
    for g in groups:
        first = firsts.get(g["id"])
        out.append(
            OpenGroup(
                id=str(g["id"]),
                organisation=str(g["organisation_id"]),
                theme=g["theme"],
                language=g["language"],
                slot=g["slot"],
                digital=g["digital"],
                rules=rules_from(dict(g["rules"] or {})),
                members=tuple(profiles[i] for i in sorted(seats.get(g["id"], []))),
                closes_at=None if first is None else first - FILL_CLOSES_BEFORE_FIRST_MEETING,
                former=frozenset(former.get(g["id"], ())),
            )
        )
    return out


def plan(inputs: Inputs, *, now: datetime) -> Plan:
    return form_groups(inputs.candidates, inputs.rules, now=now, facilitators=inputs.facilitators)


def home_municipality(member_ids: Sequence[uuid.UUID]) -> ScalarSelect[Any]:
    """The group's home municipality, for the statistics: where most of its members live as
    it is formed, ties to the lowest number (a digital group too). Read in the group's own
    ``INSERT`` from the member rows this run has locked, and stored once: erasing the members
    later never moves the group in the published figures (migration 0029)."""
    return (
        select(interest.c.municipality_number)
        .where(pool.among(interest.c.id, member_ids))
        .group_by(interest.c.municipality_number)
        .order_by(func.count().desc(), interest.c.municipality_number)
        .limit(1)
        .scalar_subquery()
    )


async def store_plan(
    session: AsyncSession,
    result: Plan,
    *,
    now: datetime,
    candidates: int,
    additions: Sequence[Addition] = (),
) -> uuid.UUID:
    """Write proposals and people joining open groups, move members to 'proposed', refresh
    why-still-waiting notes."""
    run_id = uuid.uuid4()
    placed = sum(len(g.members) for g in result.groups)
    await session.execute(
        match_run.insert().values(
            id=run_id,
            started_at=now,
            finished_at=now,
            candidates=candidates,
            groups=len(result.groups),
            placed=placed,
            joined=len(additions),
        )
    )
    await store_additions(session, additions, now=now, run_id=run_id)
    for group in result.groups:
        gid = uuid.uuid4()
        member_ids = [uuid.UUID(m) for m in group.members]
        await session.execute(
            start_group.insert().values(
                id=gid,
                organisation_id=uuid.UUID(group.organisation),
                theme=group.theme,
                language=group.language,
                slot=group.slot,
                digital=group.digital,
                facilitator_id=uuid.UUID(group.facilitator),
                municipality_number=home_municipality(member_ids),
                status="proposed",
                rules=dataclasses.asdict(group.rules),
                match_run_id=run_id,
                places=len(group.members),
                created_at=now,
                updated_at=now,
            )
        )
        await session.execute(
            group_member.insert().values(
                [{"group_id": gid, "interest_id": m, "joined_at": now} for m in member_ids]
            )
        )
        moved = await pool.set_status(
            session, member_ids, "proposed", now=now, only_from=("waiting",)
        )
        if len(moved) != len(member_ids):
            # The rows were locked for this run, so this means a bug, not a race: stop.
            raise RuntimeError("a proposed member was no longer waiting")
        await record_event(
            session,
            gid,
            now=now,
            actor="matching",
            what="formed",
            detail={"members": len(member_ids), "run": str(run_id)},
        )
    await notes.store(session, result, now=now)
    return run_id


async def store_additions(
    session: AsyncSession, additions: Sequence[Addition], *, now: datetime, run_id: uuid.UUID
) -> None:
    """People joining open groups: a proposed member each (interest 'proposed'), the group's
    places raised to its new size, a ``member_joined`` event.

    In a group whose first meeting is set, the life cycle's tick invites them
    (``groups.joiners``) with the reply window cut short before meeting 1; in a group still
    proposed or accepted they are invited with the others when the meeting is set.
    """
    by_group: dict[uuid.UUID, list[uuid.UUID]] = {}
    for a in additions:
        by_group.setdefault(uuid.UUID(a.group), []).append(uuid.UUID(a.candidate))
    for gid, people in by_group.items():
        moved = await pool.set_status(session, people, "proposed", now=now, only_from=("waiting",))
        if len(moved) != len(people):
            raise RuntimeError("a person joining a group was no longer waiting")
        await session.execute(
            group_member.delete().where(
                group_member.c.group_id == gid,
                pool.among(group_member.c.interest_id, people),
                ~group_member.c.active,
            )
        )
        await session.execute(
            group_member.insert().values(
                [
                    {
                        "group_id": gid,
                        "interest_id": p,
                        "joined_at": now,
                        "state": MemberState.PROPOSED,
                    }
                    for p in people
                ]
            )
        )
        size = (
            select(func.count())
            .select_from(group_member)
            .where(
                group_member.c.group_id == gid,
                group_member.c.active,
                group_member.c.state.in_(ACTIVE_MEMBER_STATES),
            )
            .scalar_subquery()
        )
        await session.execute(
            start_group.update()
            .where(start_group.c.id == gid)
            .values(
                places=func.greatest(func.coalesce(start_group.c.places, 0), size), updated_at=now
            )
        )
        for p in people:
            await record_event(
                session,
                gid,
                now=now,
                actor="matching",
                what="member_joined",
                detail={"interest": str(p), "run": str(run_id)},
            )


async def record_event(
    session: AsyncSession,
    group_id: uuid.UUID,
    *,
    now: datetime,
    actor: str,
    what: str,
    detail: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        group_event.insert().values(
            group_id=group_id, at=now, actor=actor, what=what, detail=detail or {}
        )
    )
