"""Building a release: anonymous counts in, the published cells (shown or suppressed) out.

Pure: the refresh job reads the counts (:mod:`figures.aggregate`) and stores what this returns.

The cells of one release are protected together wherever a reader could link them:

* **the monthly flow problem**, one per month of sign-up: sign-ups, unmet demand, placed and
  withdrawn across the geography (a county is the sum of its municipalities …; sign-ups,
  placed and withdrawn also for catchments, derived sums of municipalities), the additive
  breakdowns of sign-ups by source and by age band, and the identities that tie them: a
  municipality's sign-ups are its unmet demand plus those served (a hidden cell), an area's
  sign-ups (municipalities included) are placed + withdrawn + the rest (hidden; still waiting
  or being offered a place);
* **one problem per theme and per language and month**: a person may choose several themes, so
  theme counts add up across the geography but not to the total — each theme is its own tree;
* **the snapshot problem**: waiting now and waiting with no facilitator for their theme (the rest
  of the waiting is a hidden cell), and one tree per theme of those waiting now.

Groups are counted as groups (a group is not a person) and time to placement is a statistic of
at least five placed people; neither takes part in the linear problems.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping

from figures.catalogue import SNAPSHOT, area_key
from figures.disclosure import Equation, protect
from figures.inputs import (
    UNKNOWN,
    Area,
    Cell,
    Geography,
    Inputs,
    Key,
    PeopleCounts,
    collector_paused,
)
from figures.waits_groups import groups_cells, waits_cells

__all__ = [
    "UNKNOWN",
    "Area",
    "Cell",
    "Geography",
    "Inputs",
    "Key",
    "PeopleCounts",
    "build_release",
    "collector_paused",
    "release_parts",
]

_UPPER = frozenset(("nation", "region", "county"))
_ALL = frozenset(("municipality", "nation", "region", "county"))
#: The geography and the catchments (each the sum of its municipalities).
_WITH_CATCHMENTS = frozenset((*_ALL, "catchment"))
_MUNI = frozenset(("municipality",))


def _tree_equations(
    measure: str, category: str, values: Mapping[Key, int], geo: Geography, levels: Iterable[str]
) -> list[Equation[Key]]:
    """Each area of ``levels`` (above the lowest) is the sum of its parts one level down, and
    each catchment (if among ``levels``) the sum of its municipalities."""
    return _equations_of(
        [k for k in values if k[0] == measure and k[1] == category], values, geo, levels
    )


def _equations_of(
    keys: Iterable[Key], values: Mapping[Key, int], geo: Geography, levels: Iterable[str]
) -> list[Equation[Key]]:
    """:func:`_tree_equations` for the cells ``keys`` of one measure and category."""
    keep = levels if isinstance(levels, frozenset) else frozenset(levels)
    parts: dict[Key, list[Key]] = defaultdict(list)
    catchments: list[Key] = []
    for key in keys:
        measure, category, kind, code = key
        if kind not in keep:
            continue
        if kind == "catchment":
            catchments.append(key)
            continue
        up = geo.parent((kind, code))
        if up is not None and up[0] in keep:
            parts[(measure, category, *up)].append(key)
    eqs = [Equation(total, tuple(sorted(ps))) for total, ps in parts.items()]
    for key in catchments:
        munis = [(key[0], key[1], "municipality", m) for m in geo.catchments[key[3]]]
        eqs.append(Equation(key, tuple(k for k in munis if k in values)))
    return eqs


def _by_table(values: Mapping[Key, int]) -> dict[tuple[str, str], list[Key]]:
    grouped: dict[tuple[str, str], list[Key]] = defaultdict(list)
    for k in values:
        grouped[(k[0], k[1])].append(k)
    return grouped


def _roll_up(
    values: dict[Key, int],
    measure: str,
    category: str,
    municipality: str,
    n: int,
    geo: Geography,
    levels: Iterable[str],
) -> None:
    if n == 0:
        return
    keep = levels if isinstance(levels, frozenset) else frozenset(levels)
    for kind, code in geo.areas(municipality, keep):
        key = (measure, category, kind, code)
        values[key] = values.get(key, 0) + n


def _flow_problem(
    month: list[tuple[str, str, PeopleCounts]], geo: Geography
) -> tuple[dict[Key, int], frozenset[Key]]:
    values: dict[Key, int] = {}
    hidden: set[Key] = set()
    eqs: list[Equation[Key]] = []
    breakdowns: dict[str, set[str]] = {"source": set(), "age": set()}
    areas_of = geo.areas
    get = values.get
    for muni, cat, n in month:
        if cat == "all":
            rest_n = n.signups - n.placed - n.withdrawn
            for measure, count, levels in (
                ("signups", n.signups, _WITH_CATCHMENTS),
                ("unmet", n.unmet, _ALL),
                ("placed", n.placed, _WITH_CATCHMENTS),
                ("withdrawn", n.withdrawn, _WITH_CATCHMENTS),
                ("rest", rest_n, _ALL),
                ("served", n.signups - n.unmet, _MUNI),
            ):
                if count:  # inlined _roll_up: a month has thousands of rows
                    for kind, code in areas_of(muni, levels):
                        key = (measure, "all", kind, code)
                        values[key] = get(key, 0) + count
            continue
        dimension = cat.split(":")[0]
        if dimension in breakdowns:
            breakdowns[dimension].add(cat)
            for kind, code in areas_of(muni, _WITH_CATCHMENTS):
                key = ("signups", cat, kind, code)
                values[key] = get(key, 0) + n.signups
    grouped = _by_table(values)
    eqs += _equations_of(grouped[("signups", "all")], values, geo, _WITH_CATCHMENTS)
    eqs += _equations_of(grouped[("unmet", "all")], values, geo, _ALL)
    for measure in ("placed", "withdrawn"):
        eqs += _equations_of(grouped[(measure, "all")], values, geo, _WITH_CATCHMENTS)
    # The rest of the geography's areas add up too, but that follows from the other sums and
    # the identities below; stating it per municipality would only make the audit's blocks
    # larger (the row space, and so every answer, is the same).
    eqs += _equations_of(grouped[("rest", "all")], values, geo, _UPPER)
    for cats in breakdowns.values():
        for cat in cats:
            eqs += _equations_of(grouped[("signups", cat)], values, geo, _WITH_CATCHMENTS)
    areas = {(k[2], k[3]) for k in values if k[0] == "signups" and k[1] == "all"}
    for kind, code in areas:
        if kind == "catchment":  # derived: only in its own equation (see _protect)
            continue
        s = ("signups", "all", kind, code)
        # Sign-ups by source and by age band add up to the sign-ups, at every level.
        for cats in breakdowns.values():
            if cats:
                eqs.append(Equation(s, tuple(("signups", c, kind, code) for c in sorted(cats))))
        if kind == "municipality":
            served = ("served", "all", kind, code)
            hidden.add(served)
            eqs.append(Equation(s, (("unmet", "all", kind, code), served)))
        rest = ("rest", "all", kind, code)
        hidden.add(rest)
        eqs.append(
            Equation(s, (("placed", "all", kind, code), ("withdrawn", "all", kind, code), rest))
        )
    hidden |= {k for k in values if k[0] in ("rest", "served")}
    return values, _protect(values, eqs, hidden, _catchment_cells(values))


def _catchment_cells(values: Mapping[Key, int]) -> list[Key]:
    return [k for k in values if k[2] == "catchment"]


def _protect(
    values: dict[Key, int],
    eqs: list[Equation[Key]],
    hidden: set[Key],
    derived: Collection[Key] = (),
) -> frozenset[Key]:
    """The suppression pattern; if the counts contradict the equations (only possible when the
    stored tallies are inconsistent, e.g. edited by hand), every non-zero cell is hidden rather
    than the release failing: nothing true can be recovered from a zero.

    Catchment cells are *derived* (the sum of their municipalities, which may belong to
    several counties and overlap other catchments): shown only where the rest of the release
    fixes them anyway, so they add nothing a reader could difference with."""
    try:
        return protect(values, eqs, hidden=hidden, derived=derived)
    except RuntimeError:
        return frozenset(k for k, v in values.items() if v and k not in hidden)


def _tree_problem(
    counts: Iterable[tuple[str, int]], measure: str, category: str, geo: Geography
) -> tuple[dict[Key, int], frozenset[Key]]:
    """One independent tree: a theme or a language over the whole geography."""
    values: dict[Key, int] = {}
    levels = _WITH_CATCHMENTS
    for muni, n in counts:
        _roll_up(values, measure, category, muni, n, geo, levels)
    eqs = _tree_equations(measure, category, values, geo, levels)
    return values, _protect(values, eqs, set(), _catchment_cells(values))


def _snapshot_problem(inputs: Inputs) -> tuple[dict[Key, int], frozenset[Key]]:
    geo = inputs.geography
    values: dict[Key, int] = {}
    levels = _ALL
    for (muni, cat), n in inputs.waiting.items():
        if cat == "all":
            _roll_up(values, "waiting", "all", muni, n, geo, _WITH_CATCHMENTS)
            nofac = inputs.no_facilitator.get(muni, 0)
            _roll_up(values, "no-facilitator", "all", muni, nofac, geo, levels)
            _roll_up(values, "other", "all", muni, n - nofac, geo, _MUNI)
    eqs = _tree_equations("waiting", "all", values, geo, _WITH_CATCHMENTS)
    eqs += _tree_equations("no-facilitator", "all", values, geo, levels)
    hidden = {k for k in values if k[0] == "other"}
    for _, _, kind, code in hidden:
        eqs.append(
            Equation(
                ("waiting", "all", kind, code),
                (("no-facilitator", "all", kind, code), ("other", "all", kind, code)),
            )
        )
    return values, _protect(values, eqs, hidden, _catchment_cells(values))


_TABLE_OF = {
    ("signups", "all"): "signups",
    ("signups", "theme"): "signups-by-theme",
    ("signups", "language"): "signups-by-language",
    ("signups", "source"): "signups-by-source",
    ("signups", "age"): "signups-by-age",
    ("placed", "all"): "placed",
    ("withdrawn", "all"): "withdrawn",
    ("unmet", "all"): "unmet",
    ("waiting", "all"): "waiting",
    ("waiting", "theme"): "waiting-by-theme",
    ("no-facilitator", "all"): "no-facilitator",
}


def _cells(
    period: str, values: Mapping[Key, int], suppressed: frozenset[Key], geo: Geography
) -> list[Cell]:
    tables: dict[tuple[str, str], str | None] = {}
    parents: dict[tuple[str, str], str | None] = {}
    out: list[Cell] = []
    for key, v in values.items():
        measure, cat, kind, code = key
        table = tables.get((measure, cat), "")
        if table == "":
            table = tables[(measure, cat)] = _TABLE_OF.get((measure, cat.split(":")[0]))
        if table is None:  # hidden cells
            continue
        parent = parents.get((kind, code), "")
        if parent == "":
            up = geo.parent((kind, code))
            parent = parents[(kind, code)] = area_key(*up) if up else None
        if key in suppressed:
            out.append(Cell(table, period, kind, code, parent, cat, None, True))
        else:
            out.append(Cell(table, period, kind, code, parent, cat, v, False))
    return out


def release_parts(inputs: Inputs) -> Iterator[list[Cell]]:
    """Every non-zero or suppressed cell of a release, one period at a time: the months in
    order, then the snapshot (``now``). Each part is complete when yielded, so the refresh
    can store a month while the next one is protected (no problem spans two periods)."""
    geo = inputs.geography
    by_month: dict[str, list[tuple[str, str, PeopleCounts]]] = defaultdict(list)
    by_tree: dict[str, dict[str, list[tuple[str, int]]]] = defaultdict(lambda: defaultdict(list))
    for (month, muni, cat), n in inputs.people.items():
        if cat.split(":")[0] in ("theme", "language"):
            if n.signups:
                by_tree[month][cat].append((muni, n.signups))
        else:
            by_month[month].append((muni, cat, n))
    others: dict[str, list[Cell]] = defaultdict(list)
    for cell in (*waits_cells(inputs), *groups_cells(inputs)):
        others[cell.period].append(cell)
    for month in sorted({*by_month, *by_tree, *others}):
        cells: list[Cell] = []
        if month in by_month:
            values, hidden = _flow_problem(by_month[month], geo)
            cells += _cells(month, values, hidden, geo)
        for cat, counts in sorted(by_tree.get(month, {}).items()):
            values, hidden = _tree_problem(counts, "signups", cat, geo)
            cells += _cells(month, values, hidden, geo)
        cells += others.get(month, ())
        yield cells
    values, hidden = _snapshot_problem(inputs)
    cells = list(_cells(SNAPSHOT, values, hidden, geo))
    themes: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (muni, cat), waiting in inputs.waiting.items():
        if cat.startswith("theme:") and waiting:
            themes[cat].append((muni, waiting))
    for cat, counts in sorted(themes.items()):
        values, hidden = _tree_problem(counts, "waiting", cat, geo)
        cells += _cells(SNAPSHOT, values, hidden, geo)
    yield cells


def build_release(inputs: Inputs) -> list[Cell]:
    """Every non-zero or suppressed cell of a release (:func:`release_parts`, joined)."""
    return [cell for part in release_parts(inputs) for cell in part]
