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
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import pool
from matching import notes
from matching.algorithm import form_groups
from matching.model import (
    Candidate,
    Facilitator,
    Plan,
    RuleBook,
    Rules,
)
from matching.tables import (
    OPEN_GROUP_STATES,
    group_event,
    group_member,
    match_run,
    start_group,
)

log = logging.getLogger("samhjelp.matching")

_RULE_FIELDS = {f.name for f in dataclasses.fields(Rules)}
_OSLO = ZoneInfo("Europe/Oslo")


@dataclass(frozen=True)
class Inputs:
    candidates: list[Candidate]
    facilitators: list[Facilitator]
    rules: RuleBook
    organisation_names: dict[str, str]


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
    )


def plan(inputs: Inputs, *, now: datetime) -> Plan:
    return form_groups(inputs.candidates, inputs.rules, now=now, facilitators=inputs.facilitators)


async def store_plan(
    session: AsyncSession, result: Plan, *, now: datetime, candidates: int
) -> uuid.UUID:
    """Write proposals, move members to 'proposed', refresh why-still-waiting notes."""
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
        )
    )
    for group in result.groups:
        gid = uuid.uuid4()
        await session.execute(
            start_group.insert().values(
                id=gid,
                organisation_id=uuid.UUID(group.organisation),
                theme=group.theme,
                language=group.language,
                slot=group.slot,
                digital=group.digital,
                facilitator_id=uuid.UUID(group.facilitator),
                status="proposed",
                rules=dataclasses.asdict(group.rules),
                match_run_id=run_id,
                places=len(group.members),
                created_at=now,
                updated_at=now,
            )
        )
        member_ids = [uuid.UUID(m) for m in group.members]
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
