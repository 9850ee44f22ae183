"""The cells of a release that take part in no linear problem (split from
:mod:`figures.release` to keep modules short; pure): time to placement, a statistic of at
least five placed people, and groups, counted as groups (a group is not a person).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from figures.catalogue import NATION, QUANTILES, area_key
from figures.inputs import Cell, Inputs
from intake.disclosure import THRESHOLD

__all__ = ["groups_cells", "quantile", "waits_cells"]


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
        areas = [a for a in geo.chain(muni) if a[0] != "municipality"]
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


def groups_cells(inputs: Inputs) -> Iterable[Cell]:
    pooled: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    parents: dict[tuple[str, str], str | None] = {}
    for (month, catchment, region), states in inputs.groups.items():
        for kind, code, parent in (
            ("catchment", catchment, area_key("region", region)),
            ("region", region, area_key("nation", NATION)),
            ("nation", NATION, None),
        ):
            pooled[(month, kind, code)].update(states)
            parents[(kind, code)] = parent
    for (month, kind, code), states in pooled.items():
        for state, n in states.items():
            if n:
                yield Cell("groups", month, kind, code, parents[(kind, code)], state, n, False)
