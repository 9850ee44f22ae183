"""The cells of a release that take part in no linear problem (split from
:mod:`figures.release` to keep modules short; pure): time to placement, a statistic of at
least five placed people, and groups, counted as groups (a group is not a person).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from figures.catalogue import NATION, QUANTILES, area_key
from figures.inputs import Area, Cell, Inputs
from intake.disclosure import THRESHOLD

__all__ = ["follow_placed", "groups_cells", "quantile", "waits_cells"]


def quantile(weeks: Counter[int], share: float) -> int:
    """The smallest number of weeks within which ``share`` of the people were placed."""
    total = sum(weeks.values())
    need = share * total
    seen = 0
    for w in sorted(weeks):
        seen += weeks[w]
        if seen >= need:
            return w
    raise ValueError("empty distribution")


def waits_cells(inputs: Inputs) -> Iterable[Cell]:
    geo = inputs.geography
    pooled: dict[tuple[str, str, str], Counter[int]] = defaultdict(Counter)
    for (month, muni, catchment), weeks in inputs.waits.items():
        areas = list(geo.chain(muni))
        if catchment is not None:
            areas.append(("catchment", catchment))
        for kind, code in areas:
            pooled[(month, kind, code)].update(weeks)
    for (month, kind, code), weeks in pooled.items():
        enough = sum(weeks.values()) >= THRESHOLD  # a statistic of at least five people
        up = geo.parent((kind, code))
        for name, share in QUANTILES:
            yield Cell(
                "time-to-placement",
                month,
                kind,
                code,
                area_key(*up) if up else None,
                name,
                quantile(weeks, share) if enough else None,
                not enough,
            )


def follow_placed(others: Sequence[Cell], protected: Iterable[Cell]) -> list[Cell]:
    """Time to placement shown only where the same month's and area's ``placed`` is shown.

    A shown time to placement says that at least five people were placed there. Where
    ``placed`` itself is suppressed — a complement of five or more next to a primary cell of
    1–4 — that is news a reader can use: a county's 6 placed shown, its two municipalities'
    5 and 1 hidden, and the first's time to placement shown gives the 1 away (5 + 1 = 6 and
    every hidden cell counts at least one). So ``others`` (a month's cells outside the linear
    problems) have their time-to-placement cells suppressed wherever ``protected`` (the same
    month's protected cells) does not show ``placed``; the statistic then adds nothing the
    count does not already say. Groups and suppressed cells pass unchanged.
    """
    shown = {
        (c.area_kind, c.area_code)
        for c in protected
        if c.table_id == "placed" and not c.suppressed and c.category == "all"
    }
    out: list[Cell] = []
    for c in others:
        if (
            c.table_id == "time-to-placement"
            and not c.suppressed
            and (c.area_kind, c.area_code) not in shown
        ):
            c = c._replace(value=None, suppressed=True)
        out.append(c)
    return out


def groups_cells(inputs: Inputs) -> Iterable[Cell]:
    """Groups by month proposed and how far they came, counted as groups (not suppressed).

    A group counts for its organisation's catchment, and for its home municipality (fixed when
    it was formed, see ``matching.service.home_municipality``) and every area above it, as a
    person counts: so a county's groups are the sum of its municipalities' and its region's
    the sum of its counties' (plus any group below). A group with no home municipality (formed
    before migration 0029 and not placeable then) or one the registry no longer knows counts
    for its organisation's region and the nation, and for no county or municipality.
    """
    geo = inputs.geography
    pooled: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for (month, catchment, region, muni), states in inputs.groups.items():
        areas: list[Area] = [("catchment", catchment)]
        if muni is not None and muni in geo.county_of:
            areas += geo.chain(muni)
        else:
            if region:
                areas.append(("region", region))
            areas.append(("nation", NATION))
        for kind, code in areas:
            pooled[(month, kind, code)].update(states)
    for (month, kind, code), states in pooled.items():
        up = geo.parent((kind, code))
        parent = area_key(*up) if up else None
        for state, n in states.items():
            if n:
                yield Cell("groups", month, kind, code, parent, state, n, False)
