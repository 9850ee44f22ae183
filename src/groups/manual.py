"""Changes a staff member makes to groups by hand: ask a facilitator, re-open a lapsed group,
add a waiting person, form a group from people on the waiting list.

Every change is first checked by :func:`matching.check.violations`, the same independent rule
checker the algorithm's plans are tested against, so a group made by hand keeps exactly the
rules a group made by the job keeps (size, age span, shared slot and language, theme or
cross-problem, same-gender wishes, catchment, the organisation's own rules). A refusal carries
the checker's lines; the console words them in the staff member's language. A group formed by
hand is stored by :func:`matching.service.store_plan`, the job's own code, and its start notice
goes out through :func:`groups.facilitators.send_start_notice`, as the tick sends it.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from groups import common, links, places
from groups.config import Lifecycle
from groups.facilitators import eligible, send_start_notice
from groups.model import Group, GroupState, MeetingState, MemberState, OfferState
from groups.tables import facilitator_offer, group_meeting
from intake import pool
from matching.check import violations
from matching.model import Facilitator, GroupProposal, Plan, RuleBook, Rules
from matching.service import candidate_from, rules_from, store_plan
from matching.states import OPEN_GROUP_STATES
from matching.tables import group_event, group_member, start_group


class Refused(Exception):
    """A manual change that may not be made. ``why`` is a key the console words:
    ``state`` (not in a state that allows it), ``rules`` (``problems`` names the broken rules),
    ``not_waiting`` (someone picked is no longer waiting), ``no_facilitator`` (nobody fits or
    the one chosen does not), ``too_late`` (too close to the first meeting to answer)."""

    def __init__(self, why: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(why)
        self.why = why
        self.problems = problems


@dataclasses.dataclass(frozen=True, slots=True)
class Shape:
    """What a group is about: organisation, theme (None: across problems), language, slot."""

    organisation_id: uuid.UUID
    theme: str | None
    language: str
    slot: str
    digital: bool


def draft(shape: Shape) -> Group:
    """An unsaved group of this shape, to ask :func:`groups.facilitators.eligible` who fits."""
    values: dict[str, Any] = {f.name: None for f in dataclasses.fields(Group)}
    values |= dataclasses.asdict(shape) | {
        "id": uuid.uuid4(),
        "status": GroupState.PROPOSED,
        "rules": {},
    }
    return Group(**values)


def _shape(group: Group) -> Shape:
    return Shape(group.organisation_id, group.theme, group.language, group.slot, group.digital)


def _is_about_facilitator(line: str) -> bool:
    return "facilitator" in line


async def _free_starts(
    session: AsyncSession, facilitator_id: uuid.UUID, exclude: uuid.UUID | None
) -> int:
    stmt = select(func.count()).where(
        start_group.c.facilitator_id == facilitator_id,
        start_group.c.status.in_(OPEN_GROUP_STATES),
    )
    if exclude is not None:
        stmt = stmt.where(start_group.c.id != exclude)
    return int(await session.scalar(stmt) or 0)


async def check(
    session: AsyncSession,
    shape: Shape,
    members: list[uuid.UUID],
    *,
    rules: Rules,
    now: datetime,
    facilitator_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
) -> tuple[str, ...]:
    """The rule checker's lines for this group (empty: every rule holds). Without a
    facilitator only the group's own rules are checked."""
    people = [candidate_from(w) for w in await pool.interests(session, members)]
    if len(people) != len(set(members)):
        return ("unknown members",)
    facs: list[Facilitator] = []
    if facilitator_id is not None:
        info = await common.facilitator_info(session, facilitator_id)
        if info is not None:
            busy = await _free_starts(session, facilitator_id, group_id)
            facs.append(
                Facilitator(
                    id=str(info.id),
                    organisation=str(info.organisation_id),
                    themes=info.themes,
                    languages=info.languages,
                    free_starts=max(0, info.max_concurrent_starts - busy),
                    digital=info.digital,
                )
            )
    proposal = GroupProposal(
        members=tuple(c.id for c in sorted(people, key=lambda c: (c.waiting_since, c.id))),
        organisation=str(shape.organisation_id),
        theme=shape.theme,
        language=shape.language,
        slot=shape.slot,
        digital=shape.digital,
        facilitator=str(facilitator_id),
        rules=rules,
    )
    book = RuleBook(overrides={str(shape.organisation_id): rules})
    lines = violations(Plan(groups=(proposal,)), people, book, facs, now=now)
    # "group 0 (org, theme, language): age span 20 > 15" → "age span 20 > 15"
    out = tuple(line.split("): ", 1)[1] if line.startswith("group 0 (") else line for line in lines)
    if facilitator_id is None:
        out = tuple(line for line in out if not _is_about_facilitator(line))
    return out


async def _all_waiting(session: AsyncSession, ids: list[uuid.UUID]) -> None:
    found = await pool.profiles(session, ids)
    if len(found) != len(set(ids)) or any(p.status != "waiting" for p in found.values()):
        raise Refused("not_waiting")


async def _load(session: AsyncSession, group_id: uuid.UUID) -> Group:
    group = await common.load_group(session, group_id)
    if group is None:
        raise Refused("state")
    return group


async def _withdraw_pending(session: AsyncSession, group_id: uuid.UUID, now: datetime) -> None:
    withdrawn = (
        await session.execute(
            update(facilitator_offer)
            .where(
                facilitator_offer.c.group_id == group_id,
                facilitator_offer.c.status == OfferState.PENDING,
            )
            .values(status=OfferState.WITHDRAWN, answered_at=now)
            .returning(facilitator_offer.c.id)
        )
    ).scalars()
    for offer_id in list(withdrawn):
        await links.retire(session, offer_id, now=now)


async def ask_facilitator(
    session: AsyncSession,
    lc: Lifecycle,
    group_id: uuid.UUID,
    facilitator_id: uuid.UUID | None,
    *,
    now: datetime,
    actor: str,
) -> pool.FacilitatorInfo:
    """Send a start notice to ``facilitator_id`` (or the best who fits), withdrawing a pending
    one: choosing a facilitator, or asking one again who declined or did not answer."""
    group = await _load(session, group_id)
    if group.status is not GroupState.PROPOSED:
        raise Refused("state")
    fitting = await eligible(session, group, set(), now=now)
    pick = next((f for f in fitting if f.id == facilitator_id), None)
    if facilitator_id is None and fitting:
        pick = next((f for f in fitting if f.id == group.facilitator_id), fitting[0])
    if pick is None:
        raise Refused("no_facilitator")
    members = [m.interest_id for m in await common.active_members(session, group_id)]
    problems = await check(
        session, _shape(group), members, rules=rules_from(dict(group.rules)), now=now,
        facilitator_id=pick.id, group_id=group_id,
    )  # fmt: skip
    problems = tuple(p for p in problems if _is_about_facilitator(p))
    if problems:
        raise Refused("no_facilitator", problems)
    await _withdraw_pending(session, group_id, now)
    await send_start_notice(session, lc, group, pick, now=now, actor=actor)
    return pick


async def reopen(
    session: AsyncSession, lc: Lifecycle, group_id: uuid.UUID, *, now: datetime, actor: str
) -> int:
    """Re-open a lapsed group with those of its members who still wait: back to ``proposed``
    and a facilitator asked. Returns how many members it has again."""
    group = await _load(session, group_id)
    if group.status is not GroupState.LAPSED:
        raise Refused("state")
    former = list(
        (
            await session.execute(
                select(group_member.c.interest_id).where(
                    group_member.c.group_id == group_id,
                    group_member.c.state == MemberState.RETURNED,
                )
            )
        ).scalars()
    )
    status = await pool.profiles(session, former)
    back = sorted(i for i in former if i in status and status[i].status == "waiting")
    rules = rules_from(dict(group.rules))
    problems = await check(session, _shape(group), back, rules=rules, now=now)
    if problems:
        raise Refused("rules", problems)
    await pool.set_status(session, back, "proposed", now=now, only_from=("waiting",))
    await session.execute(
        update(group_member)
        .where(group_member.c.group_id == group_id, group_member.c.interest_id.in_(back))
        .values(active=True, state=MemberState.PROPOSED, respond_by=None, answered_at=None)
    )
    # The cancelled meetings never took place; the facilitator plans new ones.
    await session.execute(
        delete(group_meeting).where(
            group_meeting.c.group_id == group_id,
            group_meeting.c.status == MeetingState.CANCELLED,
        )
    )
    await common.set_group(
        session, group_id, status=GroupState.PROPOSED, places=len(back), facilitator_id=None,
        accepted_at=None, scheduled_at=None, coordinator_alerted_at=None,
        region_alerted_at=None, updated_at=now,
    )  # fmt: skip
    await common.event(session, group_id, "reopened", now=now, actor=actor, members=len(back))
    await _withdraw_pending(session, group_id, now)  # a lapse withdraws them; be sure
    reopened = await _load(session, group_id)
    fitting = await eligible(session, reopened, set(), now=now)
    if fitting:
        await send_start_notice(session, lc, reopened, fitting[0], now=now, actor=actor)
    return len(back)


async def add_member(
    session: AsyncSession,
    lc: Lifecycle,
    group_id: uuid.UUID,
    interest_id: uuid.UUID,
    *,
    now: datetime,
    actor: str,
) -> MemberState:
    """Add a waiting person to a group that has not met yet. In a group whose participants
    are invited they are offered the place (with the invitation's reply window), as a freed
    place is; otherwise they join the proposal and are invited with the others."""
    group = await _load(session, group_id)
    if not group.before_start:
        raise Refused("state")
    await _all_waiting(session, [interest_id])
    members = [m.interest_id for m in await common.active_members(session, group_id)]
    rules = rules_from(dict(group.rules))
    problems = await check(session, _shape(group), [*members, interest_id], rules=rules, now=now)
    if problems:
        raise Refused("rules", problems)
    await session.execute(
        delete(group_member).where(
            group_member.c.group_id == group_id,
            group_member.c.interest_id == interest_id,
            ~group_member.c.active,
        )
    )  # an earlier place in this group (declined, expired) makes way for the new one
    if group.status is GroupState.SCHEDULED:
        if not await places._offer_place(session, lc, group, interest_id, now=now):
            raise Refused("too_late")
        state = MemberState.OFFERED
    else:
        await pool.set_status(session, [interest_id], "proposed", now=now, only_from=("waiting",))
        await session.execute(
            group_member.insert().values(group_id=group_id, interest_id=interest_id, joined_at=now)
        )
        state = MemberState.PROPOSED
    size = len(members) + 1
    await common.set_group(session, group_id, places=max(group.places or 0, size), updated_at=now)
    await common.event(
        session, group_id, "member_added", now=now, actor=actor, interest=str(interest_id)
    )
    return state


async def form_group(
    session: AsyncSession,
    lc: Lifecycle,
    shape: Shape,
    members: list[uuid.UUID],
    *,
    facilitator_id: uuid.UUID | None,
    rules: Rules,
    now: datetime,
    actor: str,
) -> uuid.UUID:
    """Form a group from waiting people: checked, stored as the matching job stores a
    proposal, and the chosen (or best fitting) facilitator gets the start notice."""
    await _all_waiting(session, members)
    fitting = await eligible(session, draft(shape), set(), now=now)
    pick = next((f for f in fitting if f.id == facilitator_id), None)
    if facilitator_id is None and fitting:
        pick = fitting[0]
    if pick is None:
        raise Refused("no_facilitator")
    problems = await check(session, shape, members, rules=rules, now=now, facilitator_id=pick.id)
    if problems:
        raise Refused("rules", problems)
    people = [candidate_from(w) for w in await pool.interests(session, members)]
    ordered = tuple(c.id for c in sorted(people, key=lambda c: (c.waiting_since, c.id)))
    proposal = GroupProposal(
        members=ordered, organisation=str(shape.organisation_id), theme=shape.theme,
        language=shape.language, slot=shape.slot, digital=shape.digital,
        facilitator=str(pick.id), rules=rules,
    )  # fmt: skip
    run_id = await store_plan(session, Plan(groups=(proposal,)), now=now, candidates=len(members))
    gid: uuid.UUID = (
        await session.execute(select(start_group.c.id).where(start_group.c.match_run_id == run_id))
    ).scalar_one()
    # The job's own "formed" event, with who formed it: the history says a person did.
    await session.execute(
        update(group_event)
        .where(group_event.c.group_id == gid, group_event.c.what == "formed")
        .values(
            actor=actor,
            detail=group_event.c.detail.op("||")(func.jsonb_build_object("by_hand", True)),
        )
    )
    group = await _load(session, gid)
    await send_start_notice(session, lc, group, pick, now=now, actor=actor)
    return gid


async def organisation_rules(session: AsyncSession, organisation_id: uuid.UUID) -> Rules:
    """The organisation's rules now (its overrides on the defaults)."""
    return rules_from((await common.organisation(session, organisation_id)).rules)


async def load_counts(
    session: AsyncSession, facilitator_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Counter[str]]:
    """Groups each facilitator has (had) by state: what they started and their load."""
    rows = await session.execute(
        select(start_group.c.facilitator_id, start_group.c.status, func.count())
        .where(start_group.c.facilitator_id.in_(facilitator_ids))
        .group_by(start_group.c.facilitator_id, start_group.c.status)
    )
    out: dict[uuid.UUID, Counter[str]] = {f: Counter() for f in facilitator_ids}
    for fid, status, n in rows.all():
        out[fid][status] = n
    return out


__all__ = [
    "Refused",
    "Shape",
    "add_member",
    "ask_facilitator",
    "check",
    "draft",
    "form_group",
    "load_counts",
    "organisation_rules",
    "reopen",
]
