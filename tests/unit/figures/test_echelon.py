"""The grown echelon form (:class:`figures.elimination.Echelon`), which ``protect`` keeps
between its rounds instead of eliminating each problem again: after every round of new
unknowns it must answer exactly what auditing the grown system from scratch answers (the
dense SVD reference), for cells and for sums of cells (a catchment's form)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from figures.disclosure import Equation, audit, determined, determined_by_svd
from figures.elimination import Echelon

System = tuple[list[Equation[int]], list[list[int]], set[int], dict[str, list[int]]]


@st.composite
def grown_systems(draw: st.DrawFn) -> System:
    """Random sums over up to 30 cells; unknowns arriving in up to four rounds (each adds a
    few, as complements do); free unknowns among them; up to three forms (sums of cells)."""
    n = draw(st.integers(3, 30))
    eqs = []
    for _ in range(draw(st.integers(1, 25))):
        cells = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=6, unique=True))
        eqs.append(Equation(cells[0], tuple(cells[1:])))
    order = draw(st.permutations(range(n)))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=1, max_size=4)))
    stages = [list(order[:c]) for c in cuts]
    free = {c for c in order if c % 5 == 0 and draw(st.booleans())}
    forms = {
        f"f{i}": draw(st.lists(st.integers(0, n - 1), max_size=5, unique=True))
        for i in range(draw(st.integers(0, 3)))
    }
    return eqs, stages, free, forms


def form_fixed(eqs: list[Equation[int]], unknown: set[int], form: list[int]) -> bool:
    """Dense reference: the form's indicator over the unknowns lies in the row space."""
    cols = sorted(unknown)
    at = {c: j for j, c in enumerate(cols)}
    rows = np.zeros((len(eqs), len(cols)))
    for r, eq in enumerate(eqs):
        for c in eq.cells():
            if c in at:
                rows[r, at[c]] += eq.coefficient(c)
    target = np.zeros(len(cols))
    for c in form:
        if c in at:
            target[at[c]] = 1.0
    if not target.any():
        return True
    rank = np.linalg.matrix_rank(rows) if len(eqs) else 0
    return bool(np.linalg.matrix_rank(np.vstack([rows, target])) == rank)


@settings(max_examples=400, deadline=None)
@given(grown_systems())
def test_the_grown_echelon_answers_as_a_fresh_audit_after_every_round(system: System) -> None:
    eqs, stages, free, forms = system
    state: Echelon[int] = Echelon(eqs)
    for stage in stages:
        unknown = set(stage)
        found, fixed = audit(eqs, unknown, free=free & unknown, forms=forms, state=state)
        assert found == determined_by_svd(eqs, unknown, free=free & unknown)
        assert found == determined(eqs, unknown, free=free & unknown)
        expected = {name for name, cells in forms.items() if form_fixed(eqs, unknown, cells)}
        assert fixed == expected


def test_a_complement_that_closes_a_cycle_frees_the_cell() -> None:
    """A 2 × 2 table with margins: one unknown body cell is fixed by its row; adding the three
    others (the complements a cycle needs) frees all four, without eliminating afresh."""
    a, b, c, d, r1, r2, k1, k2 = range(8)
    eqs = [
        Equation(r1, (a, b)),
        Equation(r2, (c, d)),
        Equation(k1, (a, c)),
        Equation(k2, (b, d)),
    ]
    state: Echelon[int] = Echelon(eqs)
    assert audit(eqs, {a}, state=state)[0] == {a}
    assert audit(eqs, {a, b}, state=state)[0] == {a, b}
    assert audit(eqs, {a, b, c, d}, state=state)[0] == set()
