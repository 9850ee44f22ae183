"""Digital demand against digital facilitators' capacity, for coordinators (issue 13 §2).

A digital group starts only with a *digital* facilitator of one of its members' organisations
who has a free start (the matching core and its checker enforce it). When people are moved
towards digital groups (the suggestions, the monthly messages), demand can outgrow those
facilitators. The Today page and the region page then show a notice with the figures and what
to do: ask facilitators who can start groups online to be marked as digital, give digital
facilitators more starts at once, or recruit.

The figures, for the viewer's organisations (a coordinator's region, an administrator's all):

* **waiting** — people waiting whose latest matching note says their best option is a digital
  group and the reason they wait is that no digital facilitator can start it
  (``reason.kind = no_facilitator`` with ``reason.digital``);
* **starts needed** — how many groups those people could make at most,
  ``max(1, waiting // min_size)`` with the default minimum size of 4;
* **free starts** — of active digital facilitators not paused today: ``max_concurrent_starts``
  minus the open groups they already have (as the matching job counts them);
* **suggested** — people whose first suggested change is to welcome a digital group (they would
  join this demand if they accepted).

Demand outgrows capacity when the starts needed exceed the free starts. Counts only; a theme
breakdown is shown to viewers with the second factor (themes are health data).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import pool
from intake.tables import interest
from matching.model import Rules
from matching.states import OPEN_GROUP_STATES
from matching.tables import start_group, waiting_note

_OSLO = ZoneInfo("Europe/Oslo")


@dataclass(frozen=True)
class DigitalCapacity:
    waiting: int
    facilitators: int
    free_starts: int
    suggested: int
    #: (theme slug or None for across problems, people) — largest first.
    themes: list[tuple[str | None, int]] = field(default_factory=list)

    @property
    def starts_needed(self) -> int:
        return max(1, self.waiting // Rules().min_size) if self.waiting else 0

    @property
    def outgrown(self) -> bool:
        return self.starts_needed > self.free_starts


async def digital_capacity(
    db: AsyncSession, orgs: list[uuid.UUID], *, now: datetime
) -> DigitalCapacity:
    """The figures for these organisations (see the module's docstring)."""
    if not orgs:
        return DigitalCapacity(0, 0, 0, 0)
    reason = waiting_note.c.reason
    digital_wait = (
        select(interest.c.themes, interest.c.cross_problem_welcome, reason["theme"].astext)
        .join(waiting_note, waiting_note.c.interest_id == interest.c.id)
        .where(
            interest.c.status == "waiting",
            interest.c.organisation_id.in_(orgs),
            reason["kind"].astext == "no_facilitator",
            reason["digital"].as_boolean().is_(True),
        )
    )
    rows = (await db.execute(digital_wait)).all()
    themes: Counter[str | None] = Counter(r[2] for r in rows)
    suggested = await db.scalar(
        select(func.count())
        .select_from(interest)
        .join(waiting_note, waiting_note.c.interest_id == interest.c.id)
        .where(
            interest.c.status == "waiting",
            interest.c.organisation_id.in_(orgs),
            waiting_note.c.suggestion["kind"].astext == "welcome_digital",
            waiting_note.c.suggestion["soon"].as_boolean().is_not(True),
        )
    )
    today = now.astimezone(_OSLO).date()
    facs = [
        f
        for f in await pool.facilitators(db)
        if f.digital and f.organisation_id in set(orgs) and not f.paused_on(today)
    ]
    busy: dict[uuid.UUID, int] = {}
    if facs:
        busy = dict(
            (
                await db.execute(
                    select(start_group.c.facilitator_id, func.count())
                    .where(
                        start_group.c.status.in_(OPEN_GROUP_STATES),
                        start_group.c.facilitator_id.in_([f.id for f in facs]),
                    )
                    .group_by(start_group.c.facilitator_id)
                )
            ).all()
        )
    free = sum(max(0, f.max_concurrent_starts - busy.get(f.id, 0)) for f in facs)
    return DigitalCapacity(
        waiting=len(rows),
        facilitators=len(facs),
        free_starts=free,
        suggested=int(suggested or 0),
        themes=sorted(themes.items(), key=lambda kv: (-kv[1], kv[0] or "")),
    )
