"""Building a release: anonymous counts in, the published cells (shown or suppressed) out.

Pure: the refresh job reads the counts (:mod:`figures.aggregate`) and stores what this returns.

The cells of one release are protected together wherever a reader could link them:

* **the monthly flow problem**, one per month of sign-up: sign-ups, unmet demand, placed,
  withdrawn and lapsed across the geography (a county is the sum of its municipalities …;
  all but unmet demand also for catchments, derived sums of municipalities), the additive
  breakdowns by source (sign-ups and their outcomes, at every level: every municipality's
  source × outcome table) and by age band (sign-ups), and the identities that tie them: a
  municipality's sign-ups are its unmet demand plus those served (a hidden cell), an area's
  sign-ups, in all and per source, are placed + withdrawn + lapsed + the rest (hidden; still
  waiting or being offered a place);
* **one problem per theme and per language and month**: a person may choose several themes, so
  theme counts add up across the geography but not to the total — each theme is its own
  problem (sign-ups and their outcomes, each a tree down to the municipality and the
  catchment, tied by the same identity);
* **the snapshot problem**: waiting now and waiting with no facilitator for their theme (the rest
  of the waiting is a hidden cell), and one tree per theme of those waiting now.

Groups are counted as groups (a group is not a person) and time to placement is a statistic of
at least five placed people; neither takes part in the linear problems.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping

from figures.catalogue import BREAKDOWNS, SNAPSHOT, TABLES, area_key
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
from figures.waits_groups import follow_placed, groups_cells, waits_cells

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

#: What became of a month's sign-ups; the rest (a hidden cell) still wait or are offered a place.
_OUTCOMES = ("placed", "withdrawn", "lapsed")
_FLOW = ("signups", *_OUTCOMES)
#: Single-valued per person (everyone has one source and one age band): every breakdown by
#: these adds up to its total. Theme and language are not (a person may choose several).
_ADDITIVE = ("source", "age")

#: (measure, category dimension) → the published table; measures not here are hidden cells.
_TABLE_OF: dict[tuple[str, str], str] = {
    ("signups", "all"): "signups",
    ("placed", "all"): "placed",
    ("withdrawn", "all"): "withdrawn",
    ("lapsed", "all"): "lapsed",
    ("unmet", "all"): "unmet",
    ("waiting", "all"): "waiting",
    ("no-facilitator", "all"): "no-facilitator",
    **{
        (measure, dimension): f"{measure}-by-{short}"
        for measure in (*_FLOW, "waiting")
        for short, dimension, _ in BREAKDOWNS
        if f"{measure}-by-{short}" in TABLES
    },
}
#: The levels each measure is published at (the catalogue's), as the roll-ups want them; a
#: measure that is not published by a dimension (placed by age band) has none.
_LEVELS: defaultdict[tuple[str, str], frozenset[str]] = defaultdict(frozenset)
_LEVELS.update({key: frozenset(TABLES[table].levels) for key, table in _TABLE_OF.items()})
_DIMENSIONS = ("all", *(d for _, d, _ in BREAKDOWNS))
#: Per dimension: the levels of sign-ups, placed, withdrawn and lapsed.
_FLOW_LEVELS = {d: tuple(_LEVELS[(m, d)] for m in _FLOW) for d in _DIMENSIONS}
#: Where sign-ups = placed + withdrawn + lapsed + the rest is stated (and the rest is a hidden
#: cell): every area of the geography that has all four.
_IDENTITY_LEVELS = {d: frozenset.intersection(*_FLOW_LEVELS[d]) & _ALL for d in _DIMENSIONS}


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
    eqs: list[Equation[Key]] = []
    breakdowns: dict[str, set[str]] = {d: set() for d in _ADDITIVE}
    areas_of = geo.areas
    get = values.get
    for muni, cat, n in month:
        rest_n = n.signups - n.placed - n.withdrawn - n.lapsed
        if cat == "all":
            counts: tuple[tuple[str, int, frozenset[str]], ...] = (
                *zip(
                    _FLOW,
                    (n.signups, n.placed, n.withdrawn, n.lapsed),
                    _FLOW_LEVELS["all"],
                    strict=True,
                ),
                ("unmet", n.unmet, _LEVELS[("unmet", "all")]),
                ("rest", rest_n, _ALL),
                ("served", n.signups - n.unmet, _MUNI),
            )
        else:
            dimension = cat.split(":")[0]
            if dimension not in breakdowns:
                continue
            breakdowns[dimension].add(cat)
            counts = (
                *zip(
                    _FLOW,
                    (n.signups, n.placed, n.withdrawn, n.lapsed),
                    _FLOW_LEVELS[dimension],
                    strict=True,
                ),
                ("rest", rest_n, _IDENTITY_LEVELS[dimension]),
            )
        for measure, count, levels in counts:
            if count:  # inlined _roll_up: a month has thousands of rows
                for kind, code in areas_of(muni, levels):
                    key = (measure, cat, kind, code)
                    values[key] = get(key, 0) + count
    for (measure, cat), keys in _by_table(values).items():
        # The rest adds up over the geography and over source and age band too, but that
        # follows from the other sums and the identities below: stating it changes no answer
        # (the row space is the same), it only makes the audit's blocks larger.
        if measure not in ("rest", "served"):
            eqs += _equations_of(keys, values, geo, _LEVELS[(measure, cat.split(":")[0])])
    ordered = {d: sorted(cats) for d, cats in breakdowns.items() if cats}
    for kind, code in _areas_of(values, "all"):
        # Source and age band are single-valued: each breakdown of sign-ups, placed,
        # withdrawn and lapsed adds up to its total, at every level it is published at …
        for dimension, cats in ordered.items():
            for measure, levels in zip(_FLOW, _FLOW_LEVELS[dimension], strict=True):
                total = (measure, "all", kind, code)
                if kind in levels and get(total):
                    parts = [(measure, c, kind, code) for c in cats]
                    eqs.append(Equation(total, tuple(k for k in parts if k in values)))
            # … and each category's sign-ups are its placed + withdrawn + lapsed + the rest.
            if kind in _IDENTITY_LEVELS[dimension]:
                for c in cats:
                    _identity(values, c, kind, code, eqs)
        if kind == "municipality":
            served = ("served", "all", kind, code)
            eqs.append(
                Equation(("signups", "all", kind, code), (("unmet", "all", kind, code), served))
            )
        _identity(values, "all", kind, code, eqs)
    hidden = {k for k in values if k[0] in ("rest", "served")}
    return values, _protect(values, eqs, hidden, _catchment_cells(values))


def _identity(
    values: Mapping[Key, int], cat: str, kind: str, code: str, eqs: list[Equation[Key]]
) -> None:
    """sign-ups = placed + withdrawn + lapsed + the rest (hidden: still waiting or being
    offered a place), for one category of one area with sign-ups."""
    total = ("signups", cat, kind, code)
    if values.get(total):
        parts = tuple((m, cat, kind, code) for m in (*_OUTCOMES, "rest"))
        eqs.append(Equation(total, parts))


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
    """One independent tree: those waiting now for a theme or a language, over the geography."""
    values: dict[Key, int] = {}
    levels = _LEVELS[(measure, category.split(":")[0])]
    for muni, n in counts:
        _roll_up(values, measure, category, muni, n, geo, levels)
    eqs = _tree_equations(measure, category, values, geo, levels)
    return values, _protect(values, eqs, set(), _catchment_cells(values))


def _outcome_problem(
    counts: Iterable[tuple[str, PeopleCounts]], category: str, geo: Geography
) -> tuple[dict[Key, int], frozenset[Key]]:
    """One theme or language of one month: its sign-ups, placed, withdrawn and lapsed, each a
    tree over the geography, tied at every area by sign-ups = placed + withdrawn + lapsed +
    the rest (hidden). A person may choose several, so no equation ties two of them."""
    dimension = category.split(":")[0]
    values: dict[Key, int] = {}
    trees = list(zip(_FLOW, _FLOW_LEVELS[dimension], strict=True))
    ident = _IDENTITY_LEVELS[dimension]
    rolls = (*trees, ("rest", ident))
    areas_of = geo.areas
    get = values.get
    for muni, n in counts:
        rest = n.signups - n.placed - n.withdrawn - n.lapsed
        for (measure, levels), count in zip(
            rolls, (n.signups, n.placed, n.withdrawn, n.lapsed, rest), strict=True
        ):
            if count:  # inlined _roll_up: a month has some 50 of these problems
                for kind, code in areas_of(muni, levels):
                    key = (measure, category, kind, code)
                    values[key] = get(key, 0) + count
    grouped = _by_table(values)
    eqs: list[Equation[Key]] = []
    for measure, levels in trees:
        eqs += _equations_of(grouped.get((measure, category), ()), values, geo, levels)
    for kind, code in _areas_of(values, category):
        if kind in ident:
            _identity(values, category, kind, code, eqs)
    hidden = {k for k in values if k[0] == "rest"}
    return values, _protect(values, eqs, hidden, _catchment_cells(values))


def _areas_of(values: Mapping[Key, int], category: str) -> list[Area]:
    """The geography's areas with sign-ups of a category (catchments are derived: only in
    their own equations, see :func:`_protect`), in a fixed order (the same release every
    time)."""
    return sorted(
        {(k[2], k[3]) for k in values if k[:2] == ("signups", category) and k[2] != "catchment"}
    )


def _snapshot_problem(inputs: Inputs) -> tuple[dict[Key, int], frozenset[Key]]:
    """Waiting now and waiting with no facilitator (the rest of the waiting hidden per
    municipality), and waiting by source and by age band: each a tree that adds up to those
    waiting at every area. (By theme and by language: trees of their own, see
    :func:`_tree_problem`.)"""
    geo = inputs.geography
    values: dict[Key, int] = {}
    breakdowns: dict[str, set[str]] = {d: set() for d in _ADDITIVE}
    for (muni, cat), n in inputs.waiting.items():
        if cat == "all":
            _roll_up(values, "waiting", "all", muni, n, geo, _LEVELS[("waiting", "all")])
            nofac = inputs.no_facilitator.get(muni, 0)
            levels = _LEVELS[("no-facilitator", "all")]
            _roll_up(values, "no-facilitator", "all", muni, nofac, geo, levels)
            _roll_up(values, "other", "all", muni, n - nofac, geo, _MUNI)
            continue
        dimension = cat.split(":")[0]
        if dimension in breakdowns:
            breakdowns[dimension].add(cat)
            _roll_up(values, "waiting", cat, muni, n, geo, _LEVELS[("waiting", dimension)])
    eqs: list[Equation[Key]] = []
    for (measure, cat), keys in _by_table(values).items():
        if measure != "other":
            eqs += _equations_of(keys, values, geo, _LEVELS[(measure, cat.split(":")[0])])
    hidden = {k for k in values if k[0] == "other"}
    # Every municipality with people waiting, those with a facilitator for all of them (the
    # hidden cell is zero, and so treated as known) included: there the waiting are exactly
    # those with no facilitator, which a reader may know (an organisation with none).
    waiting_in = sorted(k for k in values if k[:3] == ("waiting", "all", "municipality"))
    for _, _, kind, code in waiting_in:
        eqs.append(
            Equation(
                ("waiting", "all", kind, code),
                (("no-facilitator", "all", kind, code), ("other", "all", kind, code)),
            )
        )
    ordered = {d: sorted(cats) for d, cats in breakdowns.items() if cats}
    areas = sorted({(k[2], k[3]) for k in values if k[:2] == ("waiting", "all")})
    for kind, code in areas:
        for dimension, cats in ordered.items():
            if kind != "catchment" and kind in _LEVELS[("waiting", dimension)]:
                parts = [("waiting", c, kind, code) for c in cats]
                total = ("waiting", "all", kind, code)
                eqs.append(Equation(total, tuple(k for k in parts if k in values)))
    return values, _protect(values, eqs, hidden, _catchment_cells(values))


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


#: One month's share of the inputs (picklable: the refresh may protect months in worker
#: processes): the month, its flow rows, its theme and language trees, its other cells.
MonthJob = tuple[
    str,
    list[tuple[str, str, PeopleCounts]],
    list[tuple[str, list[tuple[str, PeopleCounts]]]],
    list[Cell],
]


def month_jobs(inputs: Inputs) -> list[MonthJob]:
    """The months of a release in order, each with everything its cells depend on (no problem
    spans two periods)."""
    by_month: dict[str, list[tuple[str, str, PeopleCounts]]] = defaultdict(list)
    by_tree: dict[str, dict[str, list[tuple[str, PeopleCounts]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for (month, muni, cat), n in inputs.people.items():
        if cat.split(":")[0] in ("theme", "language"):
            if n.signups:
                by_tree[month][cat].append((muni, n))
        else:
            by_month[month].append((muni, cat, n))
    others: dict[str, list[Cell]] = defaultdict(list)
    for cell in (*waits_cells(inputs), *groups_cells(inputs)):
        others[cell.period].append(cell)
    return [
        (
            month,
            by_month.get(month, []),
            sorted(by_tree.get(month, {}).items()),
            others.get(month, []),
        )
        for month in sorted({*by_month, *by_tree, *others})
    ]


def month_part(job: MonthJob, geo: Geography) -> list[Cell]:
    """Every non-zero or suppressed cell of one month."""
    month, flow, trees, others = job
    cells: list[Cell] = []
    if flow:
        values, hidden = _flow_problem(flow, geo)
        cells += _cells(month, values, hidden, geo)
    for cat, counts in trees:
        values, hidden = _outcome_problem(counts, cat, geo)
        cells += _cells(month, values, hidden, geo)
    # Time to placement only where the month's placed is shown (figures.waits_groups).
    cells += follow_placed(others, cells)
    return cells


def snapshot_part(inputs: Inputs) -> list[Cell]:
    """Every non-zero or suppressed cell of the snapshot (``now``)."""
    geo = inputs.geography
    values, hidden = _snapshot_problem(inputs)
    cells = list(_cells(SNAPSHOT, values, hidden, geo))
    trees: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (muni, cat), waiting in inputs.waiting.items():
        if cat.split(":")[0] in ("theme", "language") and waiting:
            trees[cat].append((muni, waiting))
    for cat, waiting_in in sorted(trees.items()):
        values, hidden = _tree_problem(waiting_in, "waiting", cat, geo)
        cells += _cells(SNAPSHOT, values, hidden, geo)
    return cells


def release_parts(inputs: Inputs) -> Iterator[list[Cell]]:
    """Every non-zero or suppressed cell of a release, one period at a time: the months in
    order, then the snapshot (``now``). Each part is complete when yielded, so the refresh
    can store a month while the next one is protected (no problem spans two periods)."""
    for job in month_jobs(inputs):
        yield month_part(job, inputs.geography)
    yield snapshot_part(inputs)


def build_release(inputs: Inputs) -> list[Cell]:
    """Every non-zero or suppressed cell of a release (:func:`release_parts`, joined)."""
    return [cell for part in release_parts(inputs) for cell in part]
