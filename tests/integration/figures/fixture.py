"""The hand-computed fixture of the statistics tests: a few people in three municipalities,
live and erased, with every figure worked out by hand in EXPECTED below.

October 2026 (sign-up month):
* Bergen (4601, Vestland county 46, region vestland), served by org A: 7 live sign-ups, all
  angst, two of them also sorg; 5 waiting, 2 placed (after 14 and 21 days); plus 2 erased
  withdrawals (angst) in the tallies: 9 sign-ups, 2 placed, 2 withdrawn.
* Lillehammer (3405, Innlandet county 34, region innlandet), served by org B: 3 waiting (sorg).
* Austrheim (4632, Vestland), served by nobody: 6 sign-ups, unmet demand, all waiting.
November 2026: Bergen 5 more, waiting (angst); 6 placed and erased, after 0, 1, 2, 2, 3 and 5
weeks: 11 sign-ups, median 2 weeks, p75 3 (the 5th of 6), p90 5 (the 6th).
September 2026: Bergen 5 erased withdrawals (angst) in the tallies: 5 sign-ups, 5 withdrawn.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import make_org, register_people
from intake.crypto import ContactCipher
from intake.registry import Organisation, add_facilitator
from intake.tables import interest, interest_tally

OCT = datetime(2026, 10, 12, 10, 0, tzinfo=UTC)
NOV = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)


async def clean_slate(session: AsyncSession) -> None:
    """Inside the test's rolled-back transaction: no people, tallies, groups or releases from
    elsewhere, so the figures are exactly the fixture's."""
    await session.execute(
        text("TRUNCATE interest, interest_tally, start_group, stat_release CASCADE")
    )


async def seed(session: AsyncSession, cipher: ContactCipher) -> dict[str, Any]:
    await clean_slate(session)
    org_a = await make_org(session, ("4601",), name="LINK Bergen test")
    org_b = await make_org(session, ("3405",), name="Lillehammer test")
    bergen = await register_people(
        session, cipher, OCT, 7, days_ago=0, themes=["angst"], municipality="4601"
    )
    for iid, _ in bergen[:2]:
        await session.execute(
            update(interest).where(interest.c.id == iid).values(themes=["angst", "sorg"])
        )
    for iid, _ in bergen[5:]:
        await session.execute(
            update(interest)
            .where(interest.c.id == iid)
            .values(
                status="placed", updated_at=OCT + timedelta(days=14 if iid == bergen[5][0] else 21)
            )
        )
    await register_people(session, cipher, OCT, 3, days_ago=0, themes=["sorg"], municipality="3405")
    await register_people(session, cipher, OCT, 6, days_ago=0, themes=["sorg"], municipality="4632")
    await register_people(
        session, cipher, NOV, 5, days_ago=0, themes=["angst"], municipality="4601"
    )
    await tally(
        session,
        "2026-10-01",
        org_a,
        "withdrawn",
        2,
        [
            ("all", "all"),
            ("theme", "angst"),
            ("language", "no"),
            ("source", "self"),
            ("age_band", "33-37"),
        ],
    )
    await tally(
        session,
        "2026-11-01",
        org_a,
        "placed",
        6,
        [
            ("all", "all"),
            ("theme", "angst"),
            ("language", "no"),
            ("source", "self"),
            ("age_band", "33-37"),
        ],
    )
    await tally(
        session,
        "2026-09-01",
        org_a,
        "withdrawn",
        5,
        [
            ("all", "all"),
            ("theme", "angst"),
            ("language", "no"),
            ("source", "self"),
            ("age_band", "33-37"),
        ],
    )
    for weeks, n in (("0", 1), ("1", 1), ("2", 2), ("3", 1), ("5", 1)):
        await tally(session, "2026-11-01", org_a, "placed", n, [("wait_weeks", weeks)])
    return {"a": org_a, "b": org_b}


#: Every dimension an erased registration of the fixture leaves (all aged 33-37, 'self', …).
ERASED = [
    ("all", "all"),
    ("theme", "angst"),
    ("language", "no"),
    ("source", "self"),
    ("age_band", "33-37"),
]


async def seed_lapsed(session: AsyncSession, org: Organisation) -> None:
    """Lapsed registrations (always erased: tallies only), in months of their own so the
    monthly figures above stay as they are. Bergen, org A: August 2026, 5 lapsed (all its
    sign-ups); July 2026, 3 lapsed and 4 withdrawn (7 sign-ups, nobody left waiting). And org
    A gets a facilitator for angst, so Bergen's 10 waiting have one (see EXPECTED)."""
    await add_facilitator(
        session, organisation_id=org.id, name="F", email="f@example.no", themes=("angst",)
    )
    await tally(session, "2026-08-01", org, "lapsed", 5, ERASED)
    await tally(session, "2026-07-01", org, "lapsed", 3, ERASED)
    await tally(session, "2026-07-01", org, "withdrawn", 4, ERASED)


async def tally(
    session: AsyncSession,
    month: str,
    org: Organisation | None,
    outcome: str,
    count: int,
    cells: list[tuple[str, str]],
) -> None:
    await session.execute(
        insert(interest_tally),
        [
            {
                "month": datetime.fromisoformat(month).date(),
                "municipality_number": "4601",
                "organisation_id": org.id if org else None,
                "dimension": d,
                "value": v,
                "outcome": outcome,
                "count": count,
            }
            for d, v in cells
        ],
    )


#: (table, period, area, category) → value, or None for suppressed. Worked out by hand:
#: October sign-ups: Bergen 9, Austrheim 6 (county 46: 15), Lillehammer 3 (county 34: 3).
#: Lillehammer is primarily suppressed; alone in its county and region, those (3) go with it;
#: the nation (18) = Vestland + Innlandet then exposes the Vestland region, whose only county
#: then goes too, and in that county the smaller municipality (Austrheim 6): Bergen (9) and
#: the nation (18) remain. Austrheim's unmet demand is its sign-ups (nobody serves it), so
#: every unmet cell of October is hidden. Placed (2) and withdrawn (2) are below five, in
#: Bergen as everywhere above it; Austrheim placed nobody (a shown zero). November's 6 placed
#: are all Bergen's, shown at every level (the rest, 5 waiting, is a hidden cell of five);
#: September's 5 withdrawn (all of its sign-ups) likewise.
#: Waiting now: 19 (Bergen 10, Austrheim 6, Lillehammer 3), 13 of them with no facilitator
#: for their theme (Bergen's and Lillehammer's organisations have none; Austrheim has no
#: organisation). Where everyone waiting lacks a facilitator, the hidden "waiting with one"
#: is zero, which a reader may know, so there the waiting are those with no facilitator:
#: Lillehammer's 3 would follow from the nation's 13 and Bergen's, and Bergen's from the
#: nation's waiting and the rest. Only the 13 with no facilitator stay shown.
EXPECTED: dict[tuple[str, str, str, str], int | None] = {
    ("signups", "2026-10", "nation:NO", "all"): 18,
    ("signups", "2026-10", "municipality:4601", "all"): 9,
    ("signups", "2026-10", "municipality:4632", "all"): None,
    ("signups", "2026-10", "municipality:3405", "all"): None,
    ("signups", "2026-10", "county:46", "all"): None,
    ("signups", "2026-10", "region:vestland", "all"): None,
    ("signups", "2026-10", "region:innlandet", "all"): None,
    ("signups", "2026-11", "nation:NO", "all"): 11,
    ("signups", "2026-11", "municipality:4601", "all"): 11,
    ("signups-by-theme", "2026-10", "nation:NO", "theme:sorg"): 11,
    ("signups-by-theme", "2026-10", "nation:NO", "theme:angst"): 9,
    ("signups-by-theme", "2026-10", "municipality:4601", "theme:sorg"): None,
    ("signups-by-source", "2026-11", "nation:NO", "source:self"): 11,
    ("signups-by-age", "2026-11", "nation:NO", "age:33-37"): 11,
    ("unmet", "2026-10", "municipality:4632", "all"): None,
    ("unmet", "2026-10", "nation:NO", "all"): None,
    ("unmet", "2026-11", "nation:NO", "all"): 0,
    ("placed", "2026-10", "nation:NO", "all"): None,
    ("placed", "2026-11", "nation:NO", "all"): 6,
    ("withdrawn", "2026-10", "nation:NO", "all"): None,
    ("placed", "2026-10", "municipality:4601", "all"): None,
    ("placed", "2026-10", "municipality:4632", "all"): 0,
    ("placed", "2026-11", "municipality:4601", "all"): 6,
    ("withdrawn", "2026-10", "municipality:4601", "all"): None,
    ("withdrawn", "2026-11", "municipality:4601", "all"): 0,
    ("signups", "2026-09", "municipality:4601", "all"): 5,
    ("withdrawn", "2026-09", "nation:NO", "all"): 5,
    ("withdrawn", "2026-09", "municipality:4601", "all"): 5,
    ("waiting", "now", "nation:NO", "all"): None,
    ("waiting", "now", "municipality:4601", "all"): None,
    ("waiting", "now", "municipality:4632", "all"): None,
    ("waiting", "now", "municipality:3405", "all"): None,
    ("no-facilitator", "now", "nation:NO", "all"): 13,
    ("time-to-placement", "2026-10", "nation:NO", "median"): None,
    ("time-to-placement", "2026-11", "nation:NO", "median"): 2,
    ("time-to-placement", "2026-11", "nation:NO", "p75"): 3,
    ("time-to-placement", "2026-11", "nation:NO", "p90"): 5,
    ("time-to-placement", "2026-11", "region:vestland", "median"): 2,
}
