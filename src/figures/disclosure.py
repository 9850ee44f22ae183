"""Disclosure control: which cells of a release are suppressed, and why none can be recovered.

Pure: cells and equations in, the set of suppressed cells out (no I/O; a test checks it).

The model. A release is a set of *cells* (counts of people) bound by *equations* that a reader
knows: ``total = part + part + …`` (a county is the sum of its municipalities, the nation the sum
of its regions, an "all" column the sum of an additive breakdown such as age bands). Some cells
are *hidden*: never published, but part of an equation (people of an area who are not unmet
demand, say). A reader who sees every published cell and knows every equation can solve the
linear system; a suppressed cell is *recoverable* when its value is the same in every solution.

The method:

1. **Primary suppression**: every published cell counting 1–4 people
   (:func:`intake.disclosure.too_small`).
2. **Complementary suppression, by equation**: an equation with exactly one unknown gives it
   away (row, column or marginal differencing), so the smallest non-zero shown part of that
   equation is suppressed too (its total only when no part qualifies), until no equation has
   exactly one unknown.
3. **Audit**: an exact linear-algebra check. The system is first reduced — an equation with two
   or more unknowns that appear in no other equation constrains nothing else (those unknowns
   absorb any change) and is dropped, which dissolves the tree-shaped part of a geography
   hierarchy — and what is left is checked: an unknown is determined iff its unit vector
   lies in the row space of the equations (every null vector is zero there). ``protect``
   eliminates each problem once and grows that echelon form with each round's complements
   (:class:`figures.elimination.Echelon`). A determined suppressed cell gets one more
   complement in one of its equations, and steps 2–3 repeat.

Every unknown is a count of at least one person (zeros are shown, and complements are chosen
among non-zero cells), so the true table lies strictly inside the non-negative orthant in every
unknown: a cell not determined by the equations can move both up and down without any count
going negative. The linear check is therefore the same as asking a linear programme for the
cell's minimum and maximum (the property test does exactly that with HiGHS).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from random import Random
from typing import Generic, TypeVar

import numpy as np

from figures.elimination import PRIME, ROUNDS, Echelon, draw, null_vectors
from intake.disclosure import THRESHOLD, too_small

K = TypeVar("K", bound=Hashable)

#: Singular values below this count as zero in the rank test (all coefficients are ±1).
_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Equation(Generic[K]):
    """``total == sum(parts)``, known to every reader."""

    total: K
    parts: tuple[K, ...]

    def cells(self) -> tuple[K, ...]:
        return (self.total, *self.parts)

    def coefficient(self, cell: K) -> float:
        return 1.0 if cell == self.total else -1.0


def protect(
    values: Mapping[K, int],
    equations: Sequence[Equation[K]],
    *,
    hidden: Collection[K] = (),
    derived: Collection[K] = (),
) -> frozenset[K]:
    """The published cells to suppress so that none of them can be recovered.

    ``values`` holds every cell (missing cells count zero), published and ``hidden`` alike.
    Hidden cells are unknown to the reader unless they are zero (a reader may know from the
    registry that nobody was served in a municipality with no organisation, so a zero is
    treated as known: the cautious choice).

    ``derived`` cells are published sums of other cells (a catchment: the sum of its
    municipalities), each the total of exactly one equation and in no other. They are decided
    last: shown only where the rest of the release already fixes them (showing them then tells
    a reader nothing new), suppressed otherwise. A derived cell of 1–4 that the release fixes
    takes a complement among the other cells like any small cell.
    """
    all_derived = frozenset(derived)
    derived_set = frozenset(k for k in all_derived if values.get(k, 0))
    hidden_set = frozenset(hidden) | derived_set

    def value(k: K) -> int:
        return values.get(k, 0)

    primary = frozenset(
        k
        for k, v in values.items()
        if 0 < v < THRESHOLD and k not in hidden_set and k not in all_derived  # too_small
    )
    suppressed = set(primary)
    by_cell: dict[K, list[int]] = {}
    for i, eq in enumerate(equations):
        by_cell.setdefault(eq.total, []).append(i)
        for c in eq.parts:
            by_cell.setdefault(c, []).append(i)

    #: What the reader does not know: the suppressed cells and the non-zero hidden ones
    #: (grown with ``suppressed``).
    unknown = {*suppressed, *(k for k in hidden_set if value(k) != 0)}
    # A hidden cell of five or more may be worked out: it is no one's secret.
    harmless = {k for k in unknown if k in hidden_set and not too_small(value(k))}
    harmless -= derived_set

    def complement(eq: Equation[K]) -> K | None:
        """The smallest non-zero part still shown; the total if no part qualifies."""
        best = min(
            (
                (value(p), str(p), p)
                for p in eq.parts
                if p not in hidden_set and p not in suppressed and value(p) > 0
            ),
            default=None,
        )
        if best is not None:
            return best[2]
        t = eq.total
        if t not in hidden_set and t not in suppressed and value(t) > 0:
            return t
        return None

    base = [eq for eq in equations if eq.total not in derived_set]
    #: The echelon form of the problem, grown by each round's new unknowns (not eliminated
    #: again: see :class:`figures.elimination.Echelon`).
    state: Echelon[K] = Echelon(
        equations, by_cell, skip={i for i, eq in enumerate(equations) if eq.total in derived_set}
    )
    forms = {eq.total: eq.parts for eq in equations if eq.total in derived_set}
    pending = set(range(len(equations)))
    while True:
        # Step 2: no equation may be left with exactly one unknown.
        while pending:
            i = pending.pop()
            eq = equations[i]
            if eq.total in derived_set:  # never shown unless fixed: decided by the audit
                continue
            lone = [c for c in eq.parts if c in unknown]
            if eq.total in unknown:
                lone.append(eq.total)
            if len(lone) != 1 or lone[0] in harmless:
                continue
            extra = complement(eq)
            if extra is not None:
                suppressed.add(extra)
                unknown.add(extra)
                pending.update(by_cell[extra])
        # Step 3: the exact audit; complements for whatever it still finds determined.
        unknown_now = unknown - derived_set
        found, fixed = audit(base, unknown_now, free=harmless, forms=forms, state=state)
        found |= fixed
        exposed = [k for k in found if k in suppressed or (k in hidden_set and too_small(value(k)))]
        if not exposed:
            return frozenset(suppressed | (derived_set - found))
        added = False
        for k in sorted(exposed, key=str):
            extra = _nearest_complement(k, equations, by_cell, complement)
            if extra is not None:
                suppressed.add(extra)
                unknown.add(extra)
                pending.update(by_cell[extra])
                added = True
        if not added:  # pragma: no cover - every unknown has a non-zero neighbour
            raise RuntimeError("no complement left to protect " + ", ".join(map(str, exposed)))


def _nearest_complement(
    cell: K,
    equations: Sequence[Equation[K]],
    by_cell: Mapping[K, list[int]],
    complement: Callable[[Equation[K]], K | None],
) -> K | None:
    """A complement in the cell's own equations (smaller ones first), else one step further
    out along the equations, breadth first: the closest cell that can still be hidden."""
    seen_cells = {cell}
    frontier = [cell]
    seen_eqs: set[int] = set()
    while frontier:
        eqs = sorted(
            {i for c in frontier for i in by_cell.get(c, ())} - seen_eqs,
            key=lambda i: (len(equations[i].parts), i),
        )
        for i in eqs:
            found = complement(equations[i])
            if found is not None:
                return found
        seen_eqs.update(eqs)
        frontier = [c for i in eqs for c in equations[i].cells() if c not in seen_cells]
        seen_cells.update(frontier)
    return None


def unknown_cells(
    values: Mapping[K, int], suppressed: Iterable[K], hidden: Collection[K]
) -> set[K]:
    """What a reader does not know: suppressed cells and non-zero hidden ones."""
    return {*suppressed, *(k for k in hidden if values.get(k, 0) != 0)}


def determined(
    equations: Sequence[Equation[K]], unknowns: Collection[K], *, free: Collection[K] = ()
) -> set[K]:
    """The unknowns whose value the equations fix, except that ``free`` unknowns (hidden cells
    of five or more, which may well be determined) are not looked at: one of them alone in an
    equation absorbs any change, so that equation is dropped too.

    One sparse exact elimination per connected component
    (:func:`figures.elimination.null_vectors`)."""
    return audit(equations, unknowns, free=free)[0]


#: A linked block's audit: its unknowns, free unknowns, the unknowns it fixes, and its random
#: null vectors completed over its dropped equations.
Block = tuple[frozenset[K], frozenset[K], frozenset[K], list[dict[K, int]]]


def audit(
    equations: Sequence[Equation[K]],
    unknowns: Collection[K],
    *,
    free: Collection[K] = (),
    forms: Mapping[K, Sequence[K]] | None = None,
    state: Echelon[K] | None = None,
) -> tuple[set[K], set[K]]:
    """:func:`determined`, and which ``forms`` (name → cells, each the sum of its cells) the
    equations fix: a form is fixed iff it is zero on every null vector. The null vectors are
    completed over the equations the reduction dropped (their private unknowns solved in
    reverse order), so a sum of such unknowns is judged right too.

    The system falls apart into *linked blocks* (equations connected by shared unknowns; on a
    release about one per county and month): no equation of one block mentions an unknown of
    another, so the reduction, the elimination and the null vectors of a block depend on the
    block alone, and the null space of the whole is the product of the blocks' null spaces.

    With ``state`` (an :class:`~figures.elimination.Echelon` of these ``equations``, kept by
    the caller between rounds whose unknowns only grow), the unknowns are added to it and the
    null vectors read off it instead: one elimination per problem, not one per round."""
    unknown = set(unknowns)
    free_set = set(free)
    if state is not None:
        return _audit_grown(state, unknown, free_set, forms)
    active: dict[int, list[K]] = {}
    for i, eq in enumerate(equations):
        in_eq = [c for c in eq.cells() if c in unknown]
        if in_eq:
            active[i] = in_eq
    found: set[K] = set()
    vectors: list[dict[K, int]] = [{} for _ in range(ROUNDS)]
    rng = Random(len(unknown) * 7_919 + len(active))
    for block in _components(active):
        block.sort()
        inside = frozenset(c for i in block for c in active[i])
        free_here = frozenset(c for c in inside if c in free_set)
        if len(block) == 1:  # most blocks: one equation, decided on sight
            got = _audit_single(equations[block[0]], active[block[0]], free_here, rng)
        else:
            got = _audit_block(equations, {i: active[i] for i in block}, inside, free_here)
        found |= got[2]
        for vec, z in zip(vectors, got[3], strict=True):
            vec.update(z)
    fixed: set[K] = set()
    if forms:
        for name, parts in forms.items():
            terms = [c for c in parts if c in unknown]
            for vec in vectors:  # an unknown in no equation at all can take any value
                for c in terms:
                    if c not in vec:
                        vec[c] = draw(rng)
            if all(sum(vec.get(c, 0) for c in terms) % PRIME == 0 for vec in vectors):
                fixed.add(name)
    return found, fixed


def _audit_grown(
    state: Echelon[K], unknown: set[K], free: set[K], forms: Mapping[K, Sequence[K]] | None
) -> tuple[set[K], set[K]]:
    """:func:`audit` on an :class:`~figures.elimination.Echelon` grown by ``unknown``."""
    new = state.add(unknown, free)
    rng = Random(len(unknown) * 7_919 + len(state.order))
    # Only unknowns no null vector has moved yet (a movable one stays movable as unknowns are
    # added: a null vector extended by zeros is one), and forms none has moved.
    state.candidates += [c for c in new if c not in free]
    targets = state.candidates = [c for c in state.candidates if c not in state.movable]
    open_forms = {k: v for k, v in (forms or {}).items() if k not in state.unfixed}
    terms = {k: [c for c in v if c in unknown] for k, v in open_forms.items()}
    place = state.index.__getitem__
    for _ in range(ROUNDS):
        # Each further vector only where the ones before moved nothing.
        wanted = {*targets, *(c for ts in terms.values() for c in ts)}
        z = state.values(rng, sorted(wanted, key=place))
        moved = [c for c in targets if z[c]]
        state.movable.update(moved)
        targets = [c for c in targets if not z[c]]
        for name, ts in list(terms.items()):
            if sum(z[c] for c in ts) % PRIME:
                state.unfixed.add(name)
                del terms[name]
    return set(targets), set(terms)


def _audit_single(eq: Equation[K], in_eq: list[K], free: frozenset[K], rng: Random) -> Block[K]:
    """A block of one equation: :func:`_audit_block` without the machinery."""
    coef = _coefficients(eq, in_eq)
    last = in_eq[-1]
    if len(in_eq) == 1 and last not in free and coef[last]:
        # Alone in its only equation: fixed.
        return frozenset(in_eq), free, frozenset(in_eq), [{last: 0} for _ in range(ROUNDS)]
    # Two or more unknowns, or a free one, in no other equation: any of them can move (the
    # others follow). Null vectors: random values, the last one solved.
    vectors: list[dict[K, int]] = []
    for _ in range(ROUNDS):
        vec = {c: draw(rng) for c in in_eq[:-1]}
        total = sum(k * vec[c] for c, k in coef.items() if c != last)
        k_last = coef[last] % PRIME
        vec[last] = (-total * pow(k_last, -1, PRIME)) % PRIME if k_last else draw(rng)
        vectors.append(vec)
    return frozenset(in_eq), free, frozenset(), vectors


def _audit_block(
    equations: Sequence[Equation[K]],
    active: dict[int, list[K]],
    cells: frozenset[K],
    free: frozenset[K],
) -> Block[K]:
    """One linked block: reduce it, eliminate what is left (one sparse elimination per
    component of the reduced system), and complete the null vectors over the dropped
    equations, the last dropped first.

    The reduction here also drops an equation with a single private unknown (not free): it
    only defines that unknown from the others (a rest or a served cell, say) and constrains
    nothing else, so the others' answers are the same without it; the unknown itself is
    judged on the completed null vectors, which are exact (fixed iff zero on every null
    vector). Every identity with a non-zero rest is such an equation (the rest is in no
    other), so the elimination is left with less (a few per cent of the build)."""
    active, dropped = _reduce(active, free, lone=True)
    found: set[K] = set()
    vectors: list[dict[K, int]] = [{} for _ in range(ROUNDS)]
    for component in _components(active):
        names, zs = null_vectors(equations, component, active)
        for j, c in enumerate(names):
            if all(z[j] == 0 for z in zs):
                found.add(c)
        for vec, z in zip(vectors, zs, strict=True):
            vec.update(zip(names, z, strict=True))
    rng = Random(len(cells) * 7_919 + len(dropped) * 31 + min(active, default=0))
    for i, private in reversed(dropped):
        coef = _coefficients(equations[i], cells)
        last = private[-1]
        for vec in vectors:
            for c in private[:-1]:
                vec[c] = draw(rng)
            s = sum(k * vec.get(c, 0) for c, k in coef.items() if c != last)
            k_last = coef.get(last, 0) % PRIME
            # (A coefficient of zero: the unknown is in no equation after all, so it is free.)
            vec[last] = (-s * pow(k_last, -1, PRIME)) % PRIME if k_last else draw(rng)
        if len(private) == 1 and last not in free and all(v[last] == 0 for v in vectors):
            found.add(last)
    return cells, free, frozenset(found - free), vectors


def _coefficients(eq: Equation[K], unknown: Collection[K]) -> dict[K, int]:
    """The equation's coefficients of the ``unknown`` cells (+1 the total, -1 a part)."""
    coef: dict[K, int] = {}
    for c in eq.cells():
        if c in unknown:
            coef[c] = coef.get(c, 0) + (1 if c == eq.total else -1)
    return coef


def _reduced(
    equations: Sequence[Equation[K]], unknown: set[K], free: Collection[K]
) -> tuple[dict[int, list[K]], set[K], list[tuple[int, list[K]]]]:
    """The equations that can still fix an unknown: each as its list of unknowns; the free
    unknowns; the dropped equations in order, each with its private unknowns when dropped
    (see :func:`_reduce`)."""
    active: dict[int, list[K]] = {}
    for i, eq in enumerate(equations):
        cells = [c for c in eq.cells() if c in unknown]
        if cells:
            active[i] = cells
    free_set = set(free)
    active, dropped = _reduce(active, free_set)
    return active, free_set, dropped


def _reduce(
    active: Mapping[int, list[K]], free: Collection[K], *, lone: bool = False
) -> tuple[dict[int, list[K]], list[tuple[int, list[K]]]]:
    """Drops equations whose private unknowns (in no other equation) number two or more, or
    include a free one: those unknowns absorb any change. Dropping one can make other unknowns
    private: repeat. This dissolves the tree-shaped parts of a geography hierarchy.

    With ``lone``, an equation with one private unknown is dropped too (the caller then judges
    that unknown, see :func:`_audit_block`); the SVD reference keeps them."""
    need = 1 if lone else 2
    active = dict(active)
    uses: dict[K, set[int]] = defaultdict(set)
    for i, cells in active.items():
        for c in cells:
            uses[c].add(i)
    free_set = free if isinstance(free, (set, frozenset)) else set(free)
    dropped: list[tuple[int, list[K]]] = []
    queue = list(active)
    while queue:
        i = queue.pop()
        in_eq = active.get(i)
        if in_eq is None:
            continue
        private = [c for c in in_eq if len(uses[c]) == 1]
        if len(private) < need and not any(c in free_set for c in private):
            continue
        del active[i]
        dropped.append((i, private))
        for c in in_eq:
            uses[c].discard(i)
            queue.extend(uses[c])
    return active, dropped


def determined_by_svd(
    equations: Sequence[Equation[K]], unknowns: Collection[K], *, free: Collection[K] = ()
) -> set[K]:
    """The previous audit (dense SVD of each component after the same reduction): kept as the
    reference the property tests and ``bench/statistics_load.py --audit`` compare against."""
    active, free_set, _ = _reduced(equations, set(unknowns), free)
    found: set[K] = set()
    for component in _components(active):
        found |= _rank_determined(equations, component, active)
    return found - free_set


def _components(active: Mapping[int, list[K]]) -> list[list[int]]:
    """Equations grouped by shared unknowns (union-find over cells; the finds are inlined:
    this runs once per audit over every equation of a month)."""
    parent: dict[int, int] = {i: i for i in active}
    first: dict[K, int] = {}
    for i, cells in active.items():
        for c in cells:
            j = first.setdefault(c, i)
            if j == i:
                continue
            a = i
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            b = j
            while parent[b] != b:
                parent[b] = parent[parent[b]]
                b = parent[b]
            if a != b:
                parent[a] = b
    groups: dict[int, list[int]] = defaultdict(list)
    for i in active:
        r = i
        while parent[r] != r:
            r = parent[r]
        groups[r].append(i)
    return list(groups.values())


def _rank_determined(
    equations: Sequence[Equation[K]],
    rows: list[int],
    active: Mapping[int, list[K]],
) -> set[K]:
    cols = sorted({c for i in rows for c in active[i]}, key=str)
    index = {c: j for j, c in enumerate(cols)}
    matrix = np.zeros((len(rows), len(cols)))
    for r, i in enumerate(rows):
        eq = equations[i]
        for c in active[i]:
            matrix[r, index[c]] += eq.coefficient(c)
    _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int((singular > _TOLERANCE).sum())
    # Rows of vt[:rank] are an orthonormal basis of the row space: e_u lies in it (the
    # equations fix unknown u) iff its projection keeps the whole unit length.
    reach = (vt[:rank] ** 2).sum(axis=0)
    return {c for c, r in zip(cols, reach, strict=True) if r > 1 - 1e-7}


__all__ = [
    "THRESHOLD",
    "Equation",
    "audit",
    "determined",
    "determined_by_svd",
    "protect",
    "unknown_cells",
]
