"""Reading the anonymous counts a release is built from, in a few grouped statements.

The sources are the live registrations (``interest``), what erased registrations left behind
(``interest_tally``: counts per month of sign-up, municipality, organisation and one dimension),
and the groups (``start_group``, ``group_member``). Reading other packages' tables here is the
one exception to "talk through service functions": these are read-only, grouped counts, and
statistics sits above every package it reads.

Months are months of sign-up in Europe/Oslo, as in the tallies, so a person's sign-up, placement
and withdrawal all count in the month they signed up (a cohort): deleting people never moves a
figure to another month.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, TextClause, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from figures.inputs import Geography, Inputs, PeopleCounts, collector_paused
from intake.reference import CROSS_PROBLEM
from intake.tables import catchment, county, municipality, organisation

_AGE = "CASE WHEN {c} >= 78 THEN '78+' ELSE {c} || '-' || ({c} + 4) END"

_COUNTS = """count(*) AS signups, count(*) FILTER (WHERE status = 'placed') AS placed,
       count(*) FILTER (WHERE status = 'withdrawn') AS withdrawn,
       count(*) FILTER (WHERE unmet) AS unmet, 0 AS lapsed"""

#: One grouped pass per dimension over the live rows (materialised once), then the tallies:
#: cheaper than expanding every person into all of their cells and grouping once.
_PEOPLE_SQL = f"""
WITH live AS MATERIALIZED (
    SELECT to_char(i.created_at AT TIME ZONE 'Europe/Oslo', 'YYYY-MM') AS month,
           i.municipality_number AS muni, i.organisation_id IS NULL AS unmet, i.status,
           i.themes || CASE WHEN i.cross_problem_welcome THEN ARRAY[:cross]::text[]
                            ELSE ARRAY[]::text[] END AS themes,
           i.languages, {_AGE.format(c="i.age_band")} AS age,
           CASE WHEN i.source = 'referral' THEN 'referral:' || coalesce(r.course_kind, 'other')
                ELSE i.source END AS source
    FROM interest i LEFT JOIN referral r ON r.id = i.referral_id
)
SELECT month, muni,
       CASE WHEN GROUPING(source) = 0 THEN 'source:' || source
            WHEN GROUPING(age) = 0 THEN 'age:' || age ELSE 'all' END AS cat,
       {_COUNTS}
FROM live GROUP BY GROUPING SETS ((month, muni), (month, muni, source), (month, muni, age))
UNION ALL
SELECT month, muni, 'theme:' || t, {_COUNTS} FROM live, unnest(themes) AS t
GROUP BY month, muni, t
UNION ALL
SELECT month, muni, 'language:' || x, {_COUNTS} FROM live, unnest(languages) AS x
GROUP BY month, muni, x
UNION ALL
SELECT to_char(month, 'YYYY-MM'), municipality_number,
       CASE dimension WHEN 'all' THEN 'all' WHEN 'age_band' THEN 'age:' || value
            ELSE dimension || ':' || value END,
       sum(count),
       coalesce(sum(count) FILTER (WHERE outcome = 'placed'), 0),
       coalesce(sum(count) FILTER (WHERE outcome = 'withdrawn'), 0),
       coalesce(sum(count) FILTER (WHERE organisation_id IS NULL), 0),
       -- Lapsed registrations are always erased: only the tallies have them.
       coalesce(sum(count) FILTER (WHERE outcome = 'lapsed'), 0)
FROM interest_tally
WHERE dimension IN ('all', 'theme', 'language', 'source', 'age_band')
GROUP BY 1, 2, 3
"""  # noqa: S608 - only our own constant fragments are formatted in
_PEOPLE = text(_PEOPLE_SQL).bindparams(bindparam("cross", type_=Text()))


async def _rows(session: AsyncSession, statement: TextClause, cross: str) -> Sequence[Any]:
    """A grouped read's rows, by position: straight from asyncpg where the session runs on it,
    which halves the time of building SQLAlchemy rows (``:cross`` is the only parameter)."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    sql = statement.text
    if driver is not None and hasattr(driver, "fetch"):
        if ":cross" in sql:
            return list(await driver.fetch(sql.replace(":cross", "$1"), cross))
        return list(await driver.fetch(sql))
    params = {"cross": cross} if ":cross" in sql else {}
    return list((await session.execute(statement, params)).all())


#: Waiting now, in all and by theme, language, source and age band (the categories of the
#: monthly tables), and how many of them no active facilitator of their organisation serves
#: for any of their themes (the cross-problem wish counts as the theme 'pa-tvers'; read only
#: for 'all'). Grouping sets and one pass per multi-valued dimension, as for the sign-ups.
_WAITING = text(
    f"""
WITH w AS MATERIALIZED (
    SELECT i.municipality_number AS muni, i.languages,
           i.themes || CASE WHEN i.cross_problem_welcome THEN ARRAY[:cross]::text[]
                            ELSE ARRAY[]::text[] END AS wanted,
           -- once per person, not once per grouping set
           i.organisation_id IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM facilitator f
               WHERE f.organisation_id = i.organisation_id AND f.active
                 AND f.themes && (i.themes || CASE WHEN i.cross_problem_welcome
                                                   THEN ARRAY[:cross]::text[]
                                                   ELSE ARRAY[]::text[] END)
           ) AS nofac,
           {_AGE.format(c="i.age_band")} AS age,
           CASE WHEN i.source = 'referral' THEN 'referral:' || coalesce(r.course_kind, 'other')
                ELSE i.source END AS source
    FROM interest i LEFT JOIN referral r ON r.id = i.referral_id
    WHERE i.status = 'waiting'
)
SELECT muni,
       CASE WHEN GROUPING(source) = 0 THEN 'source:' || source
            WHEN GROUPING(age) = 0 THEN 'age:' || age ELSE 'all' END AS cat,
       count(*) AS n, count(*) FILTER (WHERE nofac) AS no_facilitator
FROM w GROUP BY GROUPING SETS ((muni), (muni, source), (muni, age))
UNION ALL
SELECT muni, 'theme:' || t, count(*), 0 FROM w, unnest(wanted) AS t GROUP BY muni, t
UNION ALL
SELECT muni, 'language:' || x, count(*), 0 FROM w, unnest(languages) AS x GROUP BY muni, x
"""  # noqa: S608 - only our own constant fragments are formatted in
).bindparams(bindparam("cross", type_=Text()))

#: Weeks from sign-up (``waiting_since``) to the confirmed place, live and erased.
_WAITS = text(
    """
SELECT to_char(i.created_at AT TIME ZONE 'Europe/Oslo', 'YYYY-MM') AS month,
       i.municipality_number AS muni, o.slug AS catchment,
       greatest(0, floor(extract(epoch FROM coalesce(p.at, i.updated_at) - i.waiting_since)
                         / 604800))::int AS weeks,
       count(*) AS n
FROM interest i
LEFT JOIN organisation o ON o.id = i.organisation_id
LEFT JOIN LATERAL (
    SELECT max(coalesce(gm.answered_at, gm.joined_at)) AS at FROM group_member gm
    WHERE gm.interest_id = i.id AND gm.state = 'confirmed'
) AS p ON true
WHERE i.status = 'placed'
GROUP BY 1, 2, 3, 4
UNION ALL
SELECT to_char(t.month, 'YYYY-MM'), t.municipality_number, o.slug, t.value::int, sum(t.count)
FROM interest_tally t LEFT JOIN organisation o ON o.id = t.organisation_id
WHERE t.dimension = 'wait_weeks' AND t.outcome = 'placed'
GROUP BY 1, 2, 3, 4
"""
)

#: Groups by month proposed, organisation (catchment, and the organisation's region) and home
#: municipality (``start_group.municipality_number``, fixed when the group was formed: the
#: members' erasure never moves a group; NULL for an old group migration 0029 could not place).
_GROUPS = text(
    """
SELECT to_char(g.created_at AT TIME ZONE 'Europe/Oslo', 'YYYY-MM') AS month,
       o.slug AS catchment, o.region_slug AS region, g.municipality_number AS muni,
       count(*) AS proposed,
       count(*) FILTER (WHERE g.started_at IS NOT NULL) AS started,
       count(*) FILTER (WHERE g.self_running_at IS NOT NULL) AS self_running,
       count(*) FILTER (WHERE g.status = 'lapsed') AS lapsed
FROM start_group g JOIN organisation o ON o.id = g.organisation_id
GROUP BY 1, 2, 3, 4
"""
)


async def geography(session: AsyncSession) -> Geography:
    rows = (
        await session.execute(select(municipality.c.number, municipality.c.county_number))
    ).all()
    regions = (await session.execute(select(county.c.number, county.c.region_slug))).all()
    served: dict[str, list[str]] = {}
    org_region: dict[str, str] = {}
    for slug, region_slug, muni in (
        await session.execute(
            select(organisation.c.slug, organisation.c.region_slug, catchment.c.municipality_number)
            .join(catchment, catchment.c.organisation_id == organisation.c.id)
            .order_by(organisation.c.slug, catchment.c.municipality_number)
        )
    ).all():
        served.setdefault(slug, []).append(muni)
        if region_slug:
            org_region[slug] = region_slug
    return Geography(
        county_of=dict(rows),
        region_of=dict(regions),
        catchments={slug: tuple(munis) for slug, munis in served.items()},
        catchment_region=org_region,
    )


async def read_inputs(session: AsyncSession, *, now: datetime) -> Inputs:
    """All counts of a release, read in one transaction (a consistent snapshot)."""
    del now  # the counts carry their own months; kept for symmetry with other jobs
    inputs = Inputs(geography=await geography(session))
    cross = CROSS_PROBLEM.slug
    people: dict[tuple[str, str, str], PeopleCounts] = {}
    rows = await _rows(session, _PEOPLE, cross)
    waiting = await _rows(session, _WAITING, cross)
    waits = await _rows(session, _WAITS, cross)
    groups = await _rows(session, _GROUPS, cross)
    with collector_paused():  # 225,000 rows on the bench: the collector would walk them all
        for r in rows:  # month, muni, cat, signups, placed, withdrawn, unmet, lapsed
            key = (r[0], r[1], r[2])
            counts = PeopleCounts(r[3], r[4], r[5], r[6], r[7])
            old = people.get(key)
            if old is not None:  # live and erased people of the same cell
                counts = PeopleCounts(
                    old.signups + counts.signups,
                    old.placed + counts.placed,
                    old.withdrawn + counts.withdrawn,
                    old.unmet + counts.unmet,
                    old.lapsed + counts.lapsed,
                )
            people[key] = counts
        inputs.people = people
        for muni, cat, n, no_facilitator in waiting:
            inputs.waiting[(muni, cat)] = int(n)
            if cat == "all" and no_facilitator:
                inputs.no_facilitator[muni] = int(no_facilitator)
        for month, muni, catchment, weeks, n in waits:
            found = inputs.waits.get((month, muni, catchment))
            if found is None:
                found = inputs.waits[(month, muni, catchment)] = Counter()
            found[int(weeks)] += int(n)
        for month, catchment, region, muni, proposed, started, self_running, lapsed in groups:
            inputs.groups[(month, catchment, region, muni)] = Counter(
                proposed=int(proposed),
                started=int(started),
                self_running=int(self_running),
                lapsed=int(lapsed),
            )
    return inputs
