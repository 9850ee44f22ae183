"""Why-still-waiting notes: what the latest matching run said about each waiting person.

Written by :func:`matching.service.store_plan` after every run and read by the status page, the
participant API and the staff console (through ``intake.progress.Progress``). Its own module so
that the notes (what is stored, and how it is put in words) can change without touching how
groups are stored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake import pool
from intake.reference import REGIONS, THEMES
from matching.explain import Locale, explain_unplaced
from matching.model import Plan, Reason, ReasonKind, Suggestion, SuggestionKind, Unplaced
from matching.tables import waiting_note


async def store(session: AsyncSession, result: Plan, *, now: datetime) -> None:
    """Drop the notes of everyone placed; write (or replace) the note of everyone still waiting."""
    placed_ids = [uuid.UUID(m) for g in result.groups for m in g.members]
    if placed_ids:
        await session.execute(
            delete(waiting_note).where(pool.among(waiting_note.c.interest_id, placed_ids))
        )
    if result.unplaced:
        rows = [
            {
                "interest_id": uuid.UUID(u.candidate),
                "reason": _jsonable(u.reason),
                "suggestion": _jsonable(u.suggestion) if u.suggestion else None,
                "suggestions": [_jsonable(x) for x in u.suggestions],
                "updated_at": now,
            }
            for u in result.unplaced
        ]
        for start in range(0, len(rows), 5000):
            stmt = insert(waiting_note).values(rows[start : start + 5000])
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["interest_id"],
                    set_={
                        c: stmt.excluded[c]
                        for c in ("reason", "suggestion", "suggestions", "updated_at")
                    },
                )
            )


def _jsonable(obj: Any) -> dict[str, Any]:
    return {k: (str(v) if hasattr(v, "value") else v) for k, v in dataclasses.asdict(obj).items()}


async def note_for(session: AsyncSession, interest_id: uuid.UUID) -> dict[str, Any] | None:
    """The latest why-still-waiting note for one person (for the status page)."""
    row = (
        await session.execute(
            select(waiting_note.c.reason, waiting_note.c.suggestion).where(
                waiting_note.c.interest_id == interest_id
            )
        )
    ).first()
    return None if row is None else {"reason": row.reason, "suggestion": row.suggestion}


def _suggestion(raw: dict[str, Any]) -> Suggestion:
    return Suggestion(SuggestionKind(raw["kind"]), raw.get("value"), bool(raw.get("soon")))


async def unplaced_for(
    session: AsyncSession, interest_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Unplaced]:
    """The latest note of each of these people as the core's :class:`Unplaced` (reason, first
    suggestion, every suggestion ranked); people without a note are left out."""
    if not interest_ids:
        return {}
    rows = (
        await session.execute(
            select(
                waiting_note.c.interest_id,
                waiting_note.c.reason,
                waiting_note.c.suggestion,
                waiting_note.c.suggestions,
            ).where(pool.among(waiting_note.c.interest_id, interest_ids))
        )
    ).all()
    out = {}
    for row in rows:
        reason = Reason(**(dict(row.reason) | {"kind": ReasonKind(row.reason["kind"])}))
        first = _suggestion(row.suggestion) if row.suggestion else None
        ranked = tuple(_suggestion(x) for x in row.suggestions or ())
        out[row.interest_id] = Unplaced(str(row.interest_id), reason, first, ranked)
    return out


async def suggestions_for(
    session: AsyncSession, interest_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Suggestion]]:
    """Every single change that would place each of these people (latest run), best first.

    A person without a note (placed, not waiting, or not seen by a run yet) is left out; one
    with a note but no change that helps maps to an empty list.
    """
    return {k: list(u.suggestions) for k, u in (await unplaced_for(session, interest_ids)).items()}


async def names(session: AsyncSession, notes: Sequence[Unplaced], locale: Locale) -> Names:
    """Organisation and theme names for putting these notes in words."""
    ids = set()
    for u in notes:
        with contextlib.suppress(ValueError, TypeError):  # "region:…" names are not ids
            ids.add(uuid.UUID(u.reason.organisation))
    orgs = {str(o.id): o.name for o in (await pool.organisations(session, ids)).values()}
    orgs |= {f"region:{slug}": name for slug, (name, _) in REGIONS.items()}
    return Names(orgs, {t.slug: getattr(t, locale) for t in THEMES})


@dataclasses.dataclass(frozen=True)
class Names:
    """Display names the wording needs (the core looks nothing up)."""

    organisations: dict[str, str]
    themes: dict[str, str]


async def waiting_explanations(
    session: AsyncSession, interest_ids: Sequence[uuid.UUID], locale: Locale
) -> dict[uuid.UUID, str]:
    """Why each of these people still waits and what would place them now (latest run)."""
    notes = await unplaced_for(session, interest_ids)
    if not notes:
        return {}
    # Only the organisations the notes name: a status page asks for one person.
    n = await names(session, list(notes.values()), locale)
    return {
        k: explain_unplaced(u, locale, organisations=n.organisations, themes=n.themes)
        for k, u in notes.items()
    }


async def waiting_explanation(
    session: AsyncSession, interest_id: uuid.UUID, locale: Locale
) -> str | None:
    """Why this person still waits and what would place them now, in words (latest run)."""
    return (await waiting_explanations(session, [interest_id], locale)).get(interest_id)
