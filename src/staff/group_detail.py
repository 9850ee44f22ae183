"""One group in full for the console: pseudonymous members and their answers, meetings with
the facilitator's check-ins, start notices, the event history, and the forms of the actions a
staff member may take in the group's state (:mod:`staff.group_actions`). Every view is audited
(``group.view``); another organisation's group is 404, like an unknown one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Request, Response
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from groups import common
from groups.facilitators import eligible
from groups.service import group_events
from intake import pool
from matching.states import BEFORE_START, GroupState
from staff import audit
from staff.access import Viewer
from staff.group_queries import meetings, members, offers, one_group
from staff.group_words import GroupWords
from staff.people import reference
from staff.render import language, render


def age_text(band: int) -> str:
    return f"{band}+" if band >= 78 else f"{band}–{band + 4}"


async def detail_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Viewer,
    group_id: uuid.UUID,
    now: datetime,
    *,
    errors: dict[str, list[str]] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    """One group in full (also re-shown with ``errors`` when an action is refused)."""
    orgs = await viewer.organisations(db)
    row = await one_group(db, orgs, group_id)
    if row is None:
        raise NotFoundException()
    words = GroupWords(language(request))
    group = await common.load_group(db, group_id, lock=False)
    assert group is not None
    fitting = (
        await eligible(db, group, set(), now=now) if group.status is GroupState.PROPOSED else []
    )
    addable: list[pool.WaitingInterest] = []
    if group.status in BEFORE_START:
        addable, _ = await pool.waiting_in(
            db, [group.organisation_id], theme=group.theme, language=group.language,
            slot=group.slot, digital=group.digital, limit=50,
        )  # fmt: skip
    await audit.record(
        db, viewer, "group.view", now=now, record_kind="group", record_id=group_id,
        organisation_id=row.organisation_id, request=request,
    )  # fmt: skip
    ok = request.query_params.get("ok", "")
    return render(
        request,
        "group_detail.html",
        viewer=viewer,
        section="groups",
        status=status,
        g=row,
        words=words,
        members=await members(db, group_id),
        meetings=await meetings(db, group_id),
        offers=await offers(db, group_id),
        events=await group_events(db, group_id),
        fitting=fitting,
        addable=[(w.id, reference(w.id), age_text(w.age_band), w.waiting_since) for w in addable],
        age_text=age_text,
        errors=errors or {},
        form=form or {},
        ok=words.confirmation(ok) if ok else None,
        can_close=group.status not in (GroupState.LAPSED, GroupState.CLOSED),
        can_reopen=group.status is GroupState.LAPSED,
        can_add=group.status in BEFORE_START,
        can_ask=group.status is GroupState.PROPOSED,
        now=now,
    )
