"""Erasing registrations: the person goes, anonymous counts stay (issue 8).

Every erasure path — withdrawal on the status page or with the receipt code over the API, the
scheduled erasure of people whose group has run on its own for a while, and the scheduled
erasure of waiting registrations past their keep-until date (``groups.lapse``, outcome
``lapsed``, counted with the same dimensions as a withdrawal) — ends here, in one statement
per batch:

1. ``DELETE`` the interest rows (themes, age band, gender, slots, languages, municipality,
   receipt hash, contact ciphertext: all of it goes with the row);
2. fold what was deleted into :data:`intake.tables.interest_tally`: per (month of sign-up,
   municipality, organisation, outcome) one count per value of each dimension on its own
   (``all``, ``theme``, ``language``, ``slot``, ``age_band``, ``gender``, ``source`` and, for
   placed people, ``wait_weeks``). Dimensions are never crossed with each other, so no cell is
   a row per person by construction;
3. add the outcome to the referral's counters (``erased_withdrawn``, ``erased_placed``,
   ``erased_lapsed``), so a referrer's aggregate outcome survives.

Doing all three in one statement (data-modifying CTEs) means a row is counted exactly when it
is deleted: a second, concurrent erasure of the same person deletes nothing and counts nothing.

Intake owns the interest rows but not the group memberships, messages and links that point at
them: the life cycle (``groups.erasure``) clears those first and then calls
:func:`erase_interests`. The foreign key from ``group_member`` to ``interest`` has no cascade,
so a caller that forgets a membership fails loudly instead of silently leaving a group short.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Literal

from sqlalchemy import Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from intake.reference import CROSS_PROBLEM

#: Why a registration goes: the person withdrew, had their group (placed), or showed no sign
#: of life while waiting until their keep-until date (lapsed, ``intake.lapse``).
Outcome = Literal["withdrawn", "placed", "lapsed"]

#: The whole erasure of a batch in one round trip. ``:placed_ids``/``:placed_at`` give, for
#: placed people, when they got their place (the caller knows; intake does not), so the weeks
#: from sign-up to placement can be counted without keeping either date.
_ERASE = text(
    """
WITH gone AS (
    DELETE FROM interest WHERE id = ANY(:ids)
    RETURNING id, created_at, waiting_since, municipality_number, organisation_id, themes,
              cross_problem_welcome, languages, slots, age_band, gender, source, referral_id
),
placement AS (
    SELECT p.id, p.at FROM unnest(:placed_ids, :placed_at) AS p(id, at)
),
person AS (
    SELECT g.*,
           date_trunc('month', g.created_at AT TIME ZONE 'Europe/Oslo')::date AS month,
           CASE WHEN g.source = 'referral'
                THEN 'referral:' || coalesce(r.course_kind, 'other')
                ELSE g.source END AS source_value,
           pl.at AS placed_at
    FROM gone g
    LEFT JOIN referral r ON r.id = g.referral_id
    LEFT JOIN placement pl ON pl.id = g.id
),
cells AS (
    -- DISTINCT per person: one person adds at most one to a cell.
    SELECT DISTINCT p.id, p.month, p.municipality_number, p.organisation_id, d.dimension, d.value
    FROM person p,
    LATERAL (
        SELECT 'all', 'all'
        UNION ALL SELECT 'theme', t FROM unnest(p.themes) AS t
        UNION ALL SELECT 'theme', :cross_problem WHERE p.cross_problem_welcome
        UNION ALL SELECT 'language', l FROM unnest(p.languages) AS l
        UNION ALL SELECT 'slot', s FROM unnest(p.slots) AS s
        UNION ALL SELECT 'age_band', CASE WHEN p.age_band >= 78 THEN '78+'
                                          ELSE p.age_band || '-' || (p.age_band + 4) END
        UNION ALL SELECT 'gender', coalesce(p.gender, 'unspecified')
        UNION ALL SELECT 'source', p.source_value
        UNION ALL SELECT 'wait_weeks', greatest(
                0, floor(extract(epoch FROM p.placed_at - p.waiting_since) / 604800)
            )::int::text WHERE p.placed_at IS NOT NULL
    ) AS d(dimension, value)
),
tallied AS (
    INSERT INTO interest_tally
        (month, municipality_number, organisation_id, dimension, value, outcome, count)
    SELECT month, municipality_number, organisation_id, dimension, value, :outcome, count(*)
    FROM cells
    GROUP BY month, municipality_number, organisation_id, dimension, value
    ON CONFLICT ON CONSTRAINT uq_interest_tally_cell
    DO UPDATE SET count = interest_tally.count + excluded.count
    RETURNING 1
),
referred AS (
    UPDATE referral
    SET erased_withdrawn = erased_withdrawn + CASE WHEN :outcome = 'withdrawn' THEN c.n ELSE 0 END,
        erased_placed = erased_placed + CASE WHEN :outcome = 'placed' THEN c.n ELSE 0 END,
        erased_lapsed = erased_lapsed + CASE WHEN :outcome = 'lapsed' THEN c.n ELSE 0 END
    FROM (SELECT referral_id, count(*)::int AS n FROM gone
          WHERE referral_id IS NOT NULL GROUP BY referral_id) AS c
    WHERE referral.id = c.referral_id
    RETURNING 1
)
SELECT count(*) FROM gone
"""
).bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("placed_ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("placed_at", type_=ARRAY(TIMESTAMP(timezone=True))),
    bindparam("outcome", type_=Text()),
    bindparam("cross_problem", type_=Text(), value=CROSS_PROBLEM.slug),
)


async def erase_interests(
    session: AsyncSession,
    ids: Collection[uuid.UUID],
    *,
    outcome: Outcome,
    now: datetime,
    placed_at: Mapping[uuid.UUID, datetime] | None = None,
) -> int:
    """Fold the given registrations into anonymous tallies and delete them; returns how many
    were deleted (ids already gone count nothing, so erasing twice is harmless).

    The caller must have removed everything else that points at these rows (group
    memberships, links, messages): see ``groups.erasure``. ``now`` is accepted
    for symmetry with the other service functions and to reject naive clocks; nothing about
    the erasure's own time is stored (it would date the person's decision).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not ids:
        return 0
    placed = dict(placed_at or {})
    deleted = await session.scalar(
        _ERASE,
        {
            "ids": list(ids),
            "placed_ids": list(placed),
            "placed_at": list(placed.values()),
            "outcome": outcome,
            "cross_problem": CROSS_PROBLEM.slug,
        },
    )
    return int(deleted or 0)
