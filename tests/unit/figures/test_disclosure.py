"""Disclosure control, property-tested: for random tables, no suppressed cell can be
recovered by linear differencing.

The check is independent of the implementation's rank audit: for every suppressed cell a linear
programme (HiGHS) finds its minimum and maximum over every non-negative table that agrees with
the published cells and the known sums; the cell is safe iff minimum < maximum.
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

import highspy
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import figures.disclosure
from figures.disclosure import Equation, determined, determined_by_svd, protect
from intake.disclosure import protect_parts, too_small
from unit.purity import imports_and_calls

Cell = tuple[int, int]


def table_2d(body: list[list[int]]) -> tuple[dict[Cell, int], list[Equation[Cell]]]:
    """A table with row totals (column -1), column totals (row -1) and a grand total."""
    rows, cols = len(body), len(body[0])
    values: dict[Cell, int] = {}
    for r in range(rows):
        for c in range(cols):
            values[(r, c)] = body[r][c]
        values[(r, -1)] = sum(body[r])
    for c in range(cols):
        values[(-1, c)] = sum(body[r][c] for r in range(rows))
    values[(-1, -1)] = sum(map(sum, body))
    eqs = [Equation((r, -1), tuple((r, c) for c in range(cols))) for r in range(-1, rows)]
    eqs += [Equation((-1, c), tuple((r, c) for r in range(rows))) for c in range(-1, cols)]
    return values, eqs


def lp_range(
    values: dict[object, int],
    equations: list[Equation[object]],
    unknown: set[object],
    target: object,
) -> tuple[float, float]:
    """Min and max of ``target`` over non-negative unknowns satisfying every equation."""
    cols = sorted(unknown, key=str)
    index = {c: i for i, c in enumerate(cols)}
    out = []
    for sense in (1.0, -1.0):
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        inf = highspy.kHighsInf
        for c in cols:
            h.addVar(0.0, inf)
            h.changeColCost(index[c], sense if c == target else 0.0)
        for eq in equations:
            idx, coef, rhs = [], [], 0.0
            for cell in eq.cells():
                k = eq.coefficient(cell)
                if cell in index:
                    idx.append(index[cell])
                    coef.append(k)
                else:
                    rhs -= k * values.get(cell, 0)
            if idx:
                h.addRow(rhs, rhs, len(idx), np.array(idx, np.int32), np.array(coef))
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kUnbounded:  # e.g. max of a cell with no cap
            out.append(-sense * float("inf"))
            continue
        assert status == highspy.HighsModelStatus.kOptimal, status
        out.append(sense * h.getInfo().objective_function_value)
    return out[0], out[1]


def assert_safe(
    values: dict,  # type: ignore[type-arg]
    equations: list,  # type: ignore[type-arg]
    hidden: set = frozenset(),  # type: ignore[type-arg,assignment]
    derived: set = frozenset(),  # type: ignore[type-arg,assignment]
) -> frozenset:  # type: ignore[type-arg]
    suppressed = protect(values, equations, hidden=hidden, derived=derived)
    assert not suppressed & set(hidden)
    for k, v in values.items():
        if k not in hidden and too_small(v):
            assert k in suppressed, f"{k}={v} is shown"
    unknown = set(suppressed) | {k for k in hidden if values.get(k, 0)}
    for k in suppressed:
        assert values[k] > 0, "zeros are shown, never used as complements"
        lo, hi = lp_range(values, equations, unknown, k)
        assert lo < hi - 1e-6, f"{k}={values[k]} is recoverable: [{lo}, {hi}]"
    return suppressed


counts = st.integers(0, 12) | st.integers(0, 4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(2, 6).flatmap(
        lambda c: st.lists(st.lists(counts, min_size=c, max_size=c), min_size=2, max_size=6)
    )
)
def test_no_suppressed_cell_of_a_two_way_table_is_recoverable(body: list[list[int]]) -> None:
    values, eqs = table_2d(body)
    assert_safe(values, eqs)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(st.lists(counts, min_size=1, max_size=4), min_size=1, max_size=4),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.integers(0, 3), min_size=16, max_size=16),
)
def test_hierarchies_with_an_unmet_subtree_and_hidden_cells(
    tree: list[list[list[int]]], served_share: list[int]
) -> None:
    """Nation → regions → counties → municipalities, plus an 'unmet' count per area whose
    municipality cells are bound to the sign-ups by a hidden 'served' cell: the shape of the
    monthly release."""
    values: dict[object, int] = {}
    eqs: list[Equation[object]] = []
    hidden: set[object] = set()
    n = 0
    for measure in ("s", "u"):
        regions = []
        for r, counties in enumerate(tree):
            region_cells = []
            for c, munis in enumerate(counties):
                parts = tuple((measure, "m", r, c, m) for m in range(len(munis)))
                for m, v in enumerate(munis):
                    served = min(v, served_share[n % 16] * v // 3)
                    n += 1
                    values[("s", "m", r, c, m)] = v
                    values[("u", "m", r, c, m)] = v - served
                    values[("served", r, c, m)] = served
                eqs.append(Equation((measure, "c", r, c), parts))
                region_cells.append((measure, "c", r, c))
            eqs.append(Equation((measure, "r", r), tuple(region_cells)))
            regions.append((measure, "r", r))
        eqs.append(Equation((measure, "n"), tuple(regions)))
    for r, counties in enumerate(tree):
        for c, munis in enumerate(counties):
            for m in range(len(munis)):
                hidden.add(("served", r, c, m))
                eqs.append(
                    Equation(("s", "m", r, c, m), (("u", "m", r, c, m), ("served", r, c, m)))
                )
    for eq in eqs:  # totals from the parts, bottom up (equations were added bottom up)
        if eq.total not in values or eq.total[1] != "m":  # type: ignore[index]
            values[eq.total] = sum(values[p] for p in eq.parts)
    assert_safe(values, eqs, hidden)


def test_the_classic_bridge_is_caught_by_the_audit_not_by_single_equations() -> None:
    """Two suppressed rectangles joined in one row: each row and column has two unknowns,
    yet the cell linking them is fixed by combining equations."""
    eqs = [
        Equation("r1", ("a", "b")),
        Equation("r2", ("c", "d")),
        Equation("k1", ("a", "c")),
        Equation("k2", ("b", "d")),
        Equation("r3", ("e", "f", "x")),
        Equation("k3", ("x",)),
    ]
    assert determined(eqs, {"a", "b", "c", "d"}) == set()
    assert determined(eqs, {"e", "f", "x"}) == {"x"}
    values = {"a": 3, "b": 9, "c": 8, "d": 2, "r1": 12, "r2": 10, "k1": 11, "k2": 11}
    suppressed = protect(values, eqs[:4])
    assert {"a", "d"} <= suppressed and len(suppressed) == 4


def test_a_lone_small_cell_takes_its_smallest_neighbour_with_it() -> None:
    values = {"total": 40, "a": 3, "b": 7, "c": 30}
    assert protect(values, [Equation("total", ("a", "b", "c"))]) == {"a", "b"}


@pytest.mark.parametrize(
    ("total", "parts", "expected"),
    [
        (
            12,
            {"waiting": 3, "placed": 9, "withdrawn": 0},
            {"total": 12, "waiting": None, "placed": None, "withdrawn": 0},
        ),
        (3, {"waiting": 3, "placed": 0}, {"total": None, "waiting": None, "placed": 0}),
        (20, {"waiting": 10, "placed": 10}, {"total": 20, "waiting": 10, "placed": 10}),
        (8, {"waiting": 4, "placed": 4}, {"total": 8, "waiting": None, "placed": None}),
    ],
)
def test_the_referrers_rule(total: int, parts: dict[str, int], expected: dict) -> None:  # type: ignore[type-arg]
    assert protect_parts(total, parts) == expected


@pytest.mark.parametrize("module", ["disclosure.py", "elimination.py"])
def test_the_core_is_pure(module: str) -> None:
    source = (Path(__file__).parents[3] / "src" / "figures" / module).read_text()
    imported = {m for kind, m in imports_and_calls(source) if kind == "import"}
    allowed = {
        "__future__",
        "collections",
        "collections.abc",
        "dataclasses",
        "typing",
        "heapq",
        "fractions",
        "random",
        "numpy",
        "intake.disclosure",
        "figures.elimination",
        "figures.disclosure",  # elimination's annotations only (TYPE_CHECKING)
    }
    assert imported <= allowed, imported - allowed
    assert ast.parse(source)


def test_counts_that_contradict_their_equations_hide_everything_not_zero() -> None:
    """Tallies edited by hand could break a sum (here a total of 0 over a part of 3); the
    core refuses, and the release hides every non-zero cell of that problem instead of
    failing (nothing true follows from a contradiction)."""
    from figures.release import _protect

    values = {"t": 0, "a": 3, "u": 9, "b": 5, "c": 4}
    eqs = [Equation("t", ("a",)), Equation("u", ("b", "c"))]
    with pytest.raises(RuntimeError):
        protect(values, eqs)
    assert _protect(values, eqs, set()) == {"a", "u", "b", "c"}


def test_a_municipality_gone_from_the_registry_still_counts_for_the_nation() -> None:
    from figures.release import Geography, Inputs, PeopleCounts, build_release

    geo = Geography({"4601": "46"}, {"46": "vestland"})
    inputs = Inputs(geography=geo)
    inputs.people[("2026-10", "4601", "all")] = PeopleCounts(9, 0, 0, 0)
    inputs.people[("2026-10", "1850", "all")] = PeopleCounts(6, 0, 0, 0)  # Tysfjord, gone
    shown = {(c.table_id, c.area_kind, c.area_code): c.value for c in build_release(inputs)}
    assert shown[("signups", "nation", "NO")] == 15
    assert shown[("signups", "region", "vestland")] == 9


#: A table where suppression by single equations leaves a cell that combining equations
#: recovers: (1, 2) = 1 is fixed unless the audit adds a complement (found by a search).
WEAK_TABLE = [[0, 7, 9, 9], [6, 0, 1, 1], [0, 9, 6, 12], [6, 7, 12, 7]]


def test_the_lp_check_catches_a_protection_without_the_audit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The property tests can fail: with the audit switched off (it finds nothing), the
    independent LP check finds the recoverable cell; with it on, the same table is safe."""
    values, eqs = table_2d(WEAK_TABLE)
    assert_safe(values, eqs)  # type: ignore[arg-type]
    monkeypatch.setattr(figures.disclosure, "audit", lambda *a, **k: (set(), set()))
    with pytest.raises(AssertionError, match="recoverable"):
        assert_safe(values, eqs)  # type: ignore[arg-type]


def test_the_lp_check_catches_an_audit_that_misses_one_cell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A subtler weakening: the audit ignores the first cell it should report."""
    real = figures.disclosure.audit

    def forgetful(*args: object, **kwargs: object) -> tuple[set[object], set[object]]:
        found, fixed = real(*args, **kwargs)  # type: ignore[arg-type]
        return set(sorted(found, key=str)[1:]), fixed

    values, eqs = table_2d(WEAK_TABLE)
    monkeypatch.setattr(figures.disclosure, "audit", forgetful)
    with pytest.raises(AssertionError, match="recoverable"):
        assert_safe(values, eqs)  # type: ignore[arg-type]


@st.composite
def systems(draw: st.DrawFn) -> tuple[list[Equation[int]], set[int], set[int]]:
    """Random sums over up to 30 cells, a random set of unknowns and of free ones among them."""
    n = draw(st.integers(3, 30))
    eqs = []
    for _ in range(draw(st.integers(1, 25))):
        cells = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=6, unique=True))
        eqs.append(Equation(cells[0], tuple(cells[1:])))
    unknown = set(draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True)))
    free = {c for c in unknown if draw(st.booleans()) and c % 5 == 0}
    return eqs, unknown, free


@settings(max_examples=300, deadline=None)
@given(systems())
def test_the_null_space_audit_agrees_with_the_svd_rank_audit(
    system: tuple[list[Equation[int]], set[int], set[int]],
) -> None:
    """The sparse exact method finds exactly the unknowns the dense SVD finds."""
    eqs, unknown, free = system
    assert determined(eqs, unknown, free=free) == determined_by_svd(eqs, unknown, free=free)


def test_the_null_space_audit_on_a_large_linked_block() -> None:
    """A 60 × 40 table with margins, every cell unknown except a sparse pattern: the block is
    one component of thousands of entries. Both methods agree; a cell alone in its row and
    column among the unknowns of a full row is found."""
    rng = np.random.default_rng(7)
    body = rng.integers(0, 9, size=(60, 40)).tolist()
    _, eqs = table_2d(body)
    cells = [(r, c) for r in range(60) for c in range(40)]
    unknown = {cells[i] for i in rng.choice(len(cells), size=900, replace=False)}
    unknown |= {(0, c) for c in range(40)} | {(0, -1)}  # row 0 and its total
    got = determined(eqs, unknown)
    assert got == determined_by_svd(eqs, unknown)
    # Row 0 with its total unknown: no column forces anything unless the column has a single
    # unknown, in which case that cell is fixed by its column.
    for c in range(40):
        alone = [r for r in range(-1, 60) if (r, c) in unknown] == [0]
        assert ((0, c) in got) == alone or not alone


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(counts, min_size=1, max_size=5), min_size=1, max_size=4),
    st.lists(st.lists(st.integers(0, 19), min_size=1, max_size=5), min_size=1, max_size=4),
)
def test_catchments_are_derived_sums_that_reveal_nothing(
    counties: list[list[int]], catchments: list[list[int]]
) -> None:
    """Counties of municipalities under a nation, and catchments: overlapping sets of
    municipalities across counties, each published as the sum of its municipalities (a
    derived cell). Every suppressed cell, catchments included, has min < max."""
    values: dict[object, int] = {}
    eqs: list[Equation[object]] = []
    munis: list[object] = []
    for c, row in enumerate(counties):
        parts = []
        for m, v in enumerate(row):
            values[("m", c, m)] = v
            parts.append(("m", c, m))
        munis += parts
        values[("c", c)] = sum(row)
        eqs.append(Equation(("c", c), tuple(parts)))
    values["n"] = sum(map(sum, counties))
    eqs.append(Equation("n", tuple(("c", c) for c in range(len(counties)))))
    derived = set()
    for k, members in enumerate(catchments):
        chosen = sorted({munis[i % len(munis)] for i in members}, key=str)
        values[("k", k)] = sum(values[m] for m in chosen)
        eqs.append(Equation(("k", k), tuple(chosen)))
        derived.add(("k", k))
    suppressed = assert_safe(values, eqs, derived=derived)  # type: ignore[arg-type]
    for k in derived:  # a catchment is shown only where the rest fixes it
        if k not in suppressed and values[k]:
            others = [e for e in eqs if e.total not in derived or e.total == k]
            unknown = set(suppressed) | {k}
            lo, hi = lp_range(values, others, unknown, k)
            assert abs(hi - lo) < 1e-6, (k, lo, hi)


def test_a_catchment_straddling_two_counties_stays_hidden_when_its_parts_can_move() -> None:
    """Two counties of two municipalities; the catchment takes one small municipality of
    each. With the small ones hidden (and their complements), the catchment's sum can move:
    it is suppressed. A catchment of two shown municipalities is shown."""
    values = {"A": 20, "a1": 3, "a2": 17, "B": 30, "b1": 2, "b2": 28, "K": 5, "L": 45}
    eqs = [
        Equation("A", ("a1", "a2")),
        Equation("B", ("b1", "b2")),
        Equation("K", ("a1", "b1")),
        Equation("L", ("a2", "b2")),
    ]
    suppressed = protect(values, eqs, derived={"K", "L"})
    assert {"a1", "a2", "b1", "b2"} <= suppressed
    # a1 + b1 = (A - a2) + (B - b2) needs a2 + b2, which is L: both catchments stay hidden.
    assert {"K", "L"} <= suppressed
    shown = protect(
        {"A": 20, "a1": 10, "a2": 10, "K": 10}, [eqs[0], Equation("K", ("a1",))], derived={"K"}
    )
    assert shown == frozenset()


@st.composite
def flow_months(draw: st.DrawFn) -> tuple[object, list[tuple[str, str, object]]]:
    """A random geography (regions → counties → municipalities, overlapping catchments across
    counties) and one month of counts per municipality: sign-ups, of which placed, withdrawn
    and unmet demand."""
    from figures.release import Geography, PeopleCounts

    county_of: dict[str, str] = {}
    region_of: dict[str, str] = {}
    rows: list[tuple[str, str, object]] = []
    for r in range(draw(st.integers(1, 2))):
        for c in range(draw(st.integers(1, 2))):
            county = f"{r}{c}"
            region_of[county] = f"r{r}"
            for m in range(draw(st.integers(1, 3))):
                muni = f"{county}{m}"
                county_of[muni] = county
                s = draw(counts)
                p = draw(st.integers(0, s))
                w = draw(st.integers(0, s - p))
                u = draw(st.sampled_from((0, s, draw(st.integers(0, s)))))
                rows.append((muni, "all", PeopleCounts(s, p, w, u)))
    munis = sorted(county_of)
    catchments = {
        f"k{i}": tuple(sorted({munis[j % len(munis)] for j in members}))
        for i, members in enumerate(
            draw(st.lists(st.lists(st.integers(0, 11), min_size=1, max_size=3), max_size=3))
        )
    }
    geo = Geography(
        county_of, region_of, catchments=catchments, catchment_region={k: "r0" for k in catchments}
    )
    return geo, rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow_months())
def test_a_months_flow_problem_with_placed_and_withdrawn_per_municipality_is_safe(
    month: tuple[object, list[tuple[str, str, object]]],
) -> None:
    """The release's own monthly problem (``figures.release._flow_problem``), judged against
    every equation a reader knows, written out here independently: each of sign-ups, placed,
    withdrawn, unmet, the rest and those served adds up over the geography at every level;
    at every area sign-ups = placed + withdrawn + rest, and sign-ups = unmet + served; a
    catchment's sign-ups, placed and withdrawn are the sums of its municipalities'. Placed and
    withdrawn are published per municipality and catchment; every suppressed cell (and every
    hidden cell of the model of 1–4 people) has min < max, every shown catchment is fixed by
    the rest. (Served above the municipality is no cell of the model: sign-ups less unmet
    demand, both published there, see docs/statistics.md "Limits".)"""
    from figures.release import _flow_problem

    geo, rows = month
    values, suppressed = _flow_problem(rows, geo)  # type: ignore[arg-type]
    truth: dict[object, int] = defaultdict(int)
    parts_of: dict[object, set[object]] = defaultdict(set)
    areas: set[tuple[str, str]] = set()
    for muni, _, n in rows:
        s, p, w, u, _ = n  # type: ignore[misc]
        chain = geo.chain(muni)  # type: ignore[attr-defined]
        areas.update(chain)
        own = {"signups": s, "placed": p, "withdrawn": w, "unmet": u}
        own |= {"rest": s - p - w, "served": s - u}
        for measure, v in own.items():
            for lower, upper in itertools.pairwise(chain):
                parts_of[(measure, "all", *upper)].add((measure, "all", *lower))
            for kind, code in chain:
                truth[(measure, "all", kind, code)] += v
            if measure in ("signups", "placed", "withdrawn"):
                for k in geo.catchments_of(muni):  # type: ignore[attr-defined]
                    truth[(measure, "all", "catchment", k)] += v
                    parts_of[(measure, "all", "catchment", k)].add((measure, "all", *chain[0]))
    # Placed and withdrawn now reach the municipality and the catchment.
    for key, v in truth.items():
        if key[0] in ("placed", "withdrawn") and v:
            assert values.get(key) == v, key  # type: ignore[call-overload]
    eqs: list[Equation[object]] = [Equation(t, tuple(sorted(ps))) for t, ps in parts_of.items()]  # type: ignore[type-var]
    for kind, code in areas:
        a = ("all", kind, code)
        eqs.append(Equation(("signups", *a), (("placed", *a), ("withdrawn", *a), ("rest", *a))))
        eqs.append(Equation(("signups", *a), (("unmet", *a), ("served", *a))))
    published = {k for k in values if k[0] not in ("rest", "served")}
    hidden = {k for k in truth if k not in published}
    assert not (set(suppressed) - published)
    for k in published:
        if too_small(truth[k]):
            assert k in suppressed, f"{k}={truth[k]} is shown"
        if k in suppressed:
            assert truth[k] > 0
    unknown = set(suppressed) | {k for k in hidden if truth[k]}
    for k in unknown:  # hidden cells of the model: the rest everywhere, served per municipality
        if k in suppressed or (k in values and too_small(truth[k])):
            lo, hi = lp_range(truth, eqs, unknown, k)
            assert lo < hi - 1e-6, f"{k}={truth[k]} is recoverable: [{lo}, {hi}]"
    for k in published:
        if k[2] == "catchment" and k not in suppressed and truth[k]:
            lo, hi = lp_range(truth, eqs, unknown | {k}, k)
            assert abs(hi - lo) < 1e-6, (k, lo, hi)
