"""Exact sparse elimination for the disclosure audit: which unknowns a set of linear
equations fixes, by random null vectors over an exact echelon form (see :func:`null_vectors`,
one elimination; and :class:`Echelon`, the form ``protect`` keeps and grows round by round).

Split from :mod:`figures.disclosure` (which builds the equations and decides what to suppress);
this is the linear algebra alone.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from fractions import Fraction
from random import Random
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:  # only for annotations: disclosure imports this module
    from figures.disclosure import Equation

K = TypeVar("K", bound=Hashable)

#: A prime near 2**61: the null vectors are evaluated modulo it (see below).
PRIME = (1 << 61) - 1
#: Random null vectors: an unknown (or a form) zero on all of them counts as fixed.
ROUNDS = 2

Number = int | Fraction


def null_vectors(
    equations: Sequence[Equation[K]],
    rows: list[int],
    active: Mapping[int, list[K]],
) -> tuple[list[K], list[list[int]]]:
    """The unknowns of one component and random null vectors over them (modulo a prime).

    Unknown u is determined iff its unit vector lies in the row space of the equations, i.e.
    iff every vector z of the null space (A z = 0) has z_u = 0. The equations are brought to
    echelon form by sparse Gaussian elimination in exact arithmetic (integers; fractions only
    after a pivot other than ±1), choosing the column with the fewest entries and the shortest
    row as pivot (Markowitz), which keeps the fill-in of these sparse ±1 systems small. Then a
    random null vector is read off by back substitution (random values for the free columns,
    modulo a prime P of 61 bits, exact because the echelon form is exact):

    * z_u ≠ 0 (mod P) proves z_u ≠ 0 in the rationals: u can move, it is **not** determined
      (a certificate, no error);
    * z_u = 0 for both of two independent random vectors: u is taken as determined. If u is
      not determined, z_u is a non-zero linear form in the random values, which vanishes with
      probability at most 1/P per try (Schwartz–Zippel), so a wrong answer has probability
      below 2**-120 (for a cell it would only suppress one cell too many).

    Cost: one elimination per component (its fill-in), plus a pass over the echelon form per
    random vector, instead of a dense SVD (cubic in the size of the component).
    """
    index: dict[K, int] = {}
    matrix: list[dict[int, Number]] = []
    for i in rows:
        eq = equations[i]
        row: dict[int, Number] = {}
        for c in active[i]:
            j = index.setdefault(c, len(index))
            row[j] = row.get(j, 0) + (1 if c == eq.total else -1)
        row = {j: v for j, v in row.items() if v}
        if row:
            matrix.append(row)
    cells = list(index)
    echelon = _echelon(matrix, len(cells))
    pivots = {p for p, _ in echelon}
    free = [j for j in range(len(cells)) if j not in pivots]
    rng = Random(len(cells) * 1_000_003 + len(matrix))  # the same release, the same answer
    rows_mod = [(p, _row_mod(row)) for p, row in echelon]
    vectors: list[list[int]] = []
    for _ in range(ROUNDS):
        z = [0] * len(cells)
        for j in free:
            z[j] = draw(rng)
        for p, reduced in reversed(rows_mod):
            s = 0
            a = 1
            for j, v in reduced.items():
                if j == p:
                    a = v
                else:
                    s += v * z[j]
            z[p] = (-s * pow(a, -1, PRIME)) % PRIME
        vectors.append(z)
    return cells, vectors


def draw(rng: Random) -> int:
    """A random non-zero value modulo the prime."""
    return rng.getrandbits(61) % (PRIME - 1) + 1


def _row_mod(row: Mapping[int, Number]) -> dict[int, int]:
    out: dict[int, int] = {}
    for j, v in row.items():
        if isinstance(v, int):
            out[j] = v % PRIME
        else:
            if v.denominator % PRIME == 0:  # pragma: no cover - needs a 61-bit prime factor
                raise ArithmeticError("denominator divisible by the modulus")
            out[j] = v.numerator * pow(v.denominator, -1, PRIME) % PRIME
    return out


def _echelon(matrix: list[dict[int, Number]], n_cols: int) -> list[tuple[int, dict[int, Number]]]:
    """Row echelon form of a sparse matrix, exact: (pivot column, row) in elimination order.

    Each row holds its pivot and columns pivoted later or free, so back substitution in
    reverse order solves for the pivots. Consumes ``matrix``."""
    col_rows: list[set[int]] = [set() for _ in range(n_cols)]
    for r, row in enumerate(matrix):
        for j in row:
            col_rows[j].add(r)
    heap = [(len(rs), j) for j, rs in enumerate(col_rows) if rs]
    heapq.heapify(heap)
    done = [False] * n_cols
    out: list[tuple[int, dict[int, Number]]] = []
    while heap:
        count, p = heapq.heappop(heap)
        if done[p] or count != len(col_rows[p]) or not count:
            continue
        # The shortest row with a unit pivot if any (keeps the arithmetic in integers).
        r = min(col_rows[p], key=lambda r: (abs(matrix[r][p]) != 1, len(matrix[r]), r))
        pivot_row = matrix[r]
        a = pivot_row[p]
        done[p] = True
        for j in pivot_row:
            col_rows[j].discard(r)
        for other in list(col_rows[p]):
            target = matrix[other]
            b = target[p]
            factor: Number = b * a if a in (1, -1) else Fraction(b) / a
            for j, v in pivot_row.items():
                new = target.get(j, 0) - factor * v
                if new:
                    if j not in target:
                        col_rows[j].add(other)
                        if not done[j]:
                            heapq.heappush(heap, (len(col_rows[j]), j))
                    target[j] = new
                elif j in target:
                    del target[j]
                    col_rows[j].discard(other)
                    if not done[j]:
                        heapq.heappush(heap, (len(col_rows[j]), j))
        out.append((p, pivot_row))
        for j in pivot_row:
            if not done[j] and col_rows[j]:
                heapq.heappush(heap, (len(col_rows[j]), j))
    return out


class Echelon(Generic[K]):
    """An exact echelon form of a whole problem's equations that takes more unknowns as
    complements are added (:func:`figures.disclosure.protect`'s rounds), instead of eliminating
    the problem again each round.

    Every row operation of the elimination is recorded (per pivot row: the rows it was
    subtracted from, and the factor). When cells become unknown, their columns are taken
    through the same operations (one pass over the record), which is what eliminating the
    grown system from scratch would have done to them; rows that had no unknown left (the
    reader's left null space) get entries only in the new columns and are eliminated among
    themselves. The result is an echelon form of the grown system in exact arithmetic, so
    the random null vectors read off it (:meth:`null_vectors`) are as exact as those of
    :func:`null_vectors`: z_u ≠ 0 (mod P) proves that u can move.

    Why this is enough: a cell that could move stays movable when more cells become unknown
    (a null vector extended by zeros is still one), and the answer for the others is a fact
    about the rows, whatever the order of elimination. No reduction and no components: the
    Markowitz order pivots a column with one entry (a private unknown) on sight, which is
    what the reduction did, and separate blocks never mix in an elimination.
    """

    def __init__(
        self,
        equations: Sequence[Equation[K]],
        rows_of: Mapping[K, Sequence[int]] | None = None,
        skip: Collection[int] = (),
    ) -> None:
        """``rows_of``: each cell's equations (an index the caller may already have, in
        the order of the equations; made here if not given); ``skip``: equations that are
        not rows (a catchment's: judged as forms)."""
        if rows_of is None:
            made: dict[K, list[int]] = {}
            for i, eq in enumerate(equations):
                for c in eq.cells():
                    made.setdefault(c, []).append(i)
            rows_of = made
        self._rows_of = rows_of
        self._skip = frozenset(skip)
        self.index: dict[K, int] = {}
        self.cells: list[K] = []
        #: The rows with unknowns (by equation), the pivot column of each pivoted row, the
        #: pivoted rows in order, the operations each pivot row made: [(row, factor)].
        self.rows: dict[int, dict[int, Number]] = {}
        self.pivot: dict[int, int] = {}
        self.order: list[int] = []
        self.ops: dict[int, list[tuple[int, Number]]] = {}
        self._col_rows: dict[int, set[int]] = {}
        self._mod: dict[int, tuple[list[tuple[int, int]], int]] = {}
        self._done: set[int] = set()
        self._pivot_row: dict[int, int] = {}
        self._place: dict[int, int] = {}
        self._rank = {c: k for k, c in enumerate(rows_of)}
        self._equations = equations
        #: Rows dropped by :meth:`_reduce` (in the order dropped), the private unknown each
        #: solves, and the row that owns each private unknown (the last dropped with it).
        self._dropped: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._owner: dict[int, int] = {}
        self._completed: dict[int, tuple[list[tuple[int, int]], int] | None] = {}
        #: Unknowns not (yet) known to be movable, in order.
        self.candidates: list[K] = []
        #: Unknowns some null vector moved (they stay movable as unknowns are added) and
        #: forms some null vector moved: not looked at again.
        self.movable: set[K] = set()
        self.unfixed: set[K] = set()

    def add(self, cells: Iterable[K], free: Collection[K] = ()) -> list[K]:
        """Make ``cells`` unknown (those already unknown are skipped) and eliminate; returns
        the new ones, in a fixed order (where they first occur in the equations).

        The first call also reduces the system (:meth:`_reduce`) with ``free``, the unknowns
        that are never judged (hidden cells of five or more)."""
        index, rank = self.index, self._rank
        new = list(cells - index.keys() if isinstance(cells, (set, frozenset)) else cells)
        new = [c for c in new if c not in index]
        if not new:
            return new
        if all(c in rank for c in new):
            new.sort(key=rank.__getitem__)
        else:  # cells in no equation (a caller's own): in an order of their own
            new.sort(key=lambda c: (rank.get(c, len(rank)), str(c)))
        start = len(self.cells)
        self._completed.clear()  # a dropped row may have gained unknowns
        for c in new:
            self.index[c] = len(self.cells)
            self.cells.append(c)
        # Each new column as it stands after the operations recorded so far.
        columns: dict[int, dict[int, Number]] = {}
        equations, skip = self._equations, self._skip
        index, rows_of, setdefault = self.index, self._rows_of, columns.setdefault
        for c in new:
            j = index[c]
            for i in rows_of.get(c, ()):
                if i in skip:
                    continue
                col = setdefault(i, {})
                w: Number = 1 if equations[i].total == c else -1
                if j in col:  # the cell twice in one equation (never in a release)
                    w += col[j]
                    if not w:
                        del col[j]
                        continue
                col[j] = w
        dropped = self._dropped
        if not start:
            self._reduce(columns, {self.index[c] for c in free if c in self.index})
        for i in dropped.keys() & columns.keys():
            del columns[i]  # a dropped row stays droppable: its private unknowns absorb
        if start:
            # Through the recorded operations, in their order; only pivot rows the new
            # columns reach are visited (a heap of their places in the order).
            ops, place = self.ops, self._place
            todo = [place[i] for i in columns if i in place]
            heapq.heapify(todo)
            seen = set(todo)
            order = self.order
            while todo:
                r = order[heapq.heappop(todo)]
                here = columns.get(r)
                if not here:
                    continue
                for t, f in ops.get(r, ()):
                    target = columns.setdefault(t, {})
                    for j, v in here.items():
                        w = target.get(j, 0) - f * v
                        if w:
                            target[j] = w
                        else:
                            target.pop(j, None)
                    at = place.get(t)
                    if at is not None and at not in seen:
                        seen.add(at)
                        heapq.heappush(todo, at)
        col_rows = self._col_rows
        for i, col in columns.items():
            if not col:
                continue
            row = self.rows.setdefault(i, {})
            row.update(col)
            self._mod.pop(i, None)
            if i not in self.pivot:
                for j in col:
                    col_rows.setdefault(j, set()).add(i)
        self._eliminate(range(start, len(self.cells)))
        return new

    def _reduce(self, columns: dict[int, dict[int, Number]], free: set[int]) -> None:
        """Drops the rows with a private unknown (in no other row); dropping one can make
        other unknowns private (repeat). This dissolves the tree-shaped parts of a geography
        and decouples the measures wherever a rest (still waiting) is unknown.

        * Two or more private unknowns, or a free one: they absorb any change, so the row
          constrains nothing else; its non-free private unknowns are movable (one of them is
          solved from the row in :meth:`values`, the others take any value).
        * Exactly one (a rest, those served): the row only defines it from the others and
          constrains nothing else; it is judged on the null vectors completed over the row
          (solved from it in :meth:`values`): fixed iff zero on all of them, exact.

        Stays exact as unknowns are added: a row that enters later has only new unknowns, so
        no unknown of a dropped row ever gains a row, and a dropped row keeps its privates."""
        uses: dict[int, set[int]] = {}
        get = uses.get
        for i, col in columns.items():
            for j in col:
                found = get(j)
                if found is None:
                    uses[j] = {i}
                else:
                    found.add(i)
        queue = list(columns)
        queued = set(queue)
        gone: set[int] = set()
        cells = self.cells
        while queue:
            i = queue.pop()
            queued.discard(i)
            if i in gone:
                continue
            in_row = columns[i]
            private = [j for j in in_row if len(uses[j]) == 1]
            if not private:
                continue
            gone.add(i)
            self._dropped[i] = len(self._dropped)
            self._last[i] = private[-1]
            lone = len(private) == 1 and private[0] not in free
            for j in private:
                self._owner[j] = i
                if not lone and j not in free:
                    self.movable.add(cells[j])
            for j in in_row:
                uses[j].discard(i)
                for k in uses[j]:
                    if k not in queued:
                        queued.add(k)
                        queue.append(k)

    def _completion(self, i: int) -> tuple[list[tuple[int, int]], int] | None:
        """A dropped row's last private unknown, solved from the row (as :func:`_solved`):
        the row's other unknowns (as they are now) and the factor; None if the unknown's
        coefficients there cancel (it is then in no row at all: any value). Kept until
        unknowns are added."""
        if i in self._completed:
            return self._completed[i]
        eq = self._equations[i]
        index = self.index
        row: dict[int, int] = {}
        j = index.get(eq.total)
        if j is not None:
            row[j] = 1
        for c in eq.parts:
            j = index.get(c)
            if j is not None:
                row[j] = row.get(j, 0) - 1
        a = row.pop(self._last[i], 0)
        got = (
            ([(j, v % PRIME) for j, v in row.items() if v], (-pow(a, -1, PRIME)) % PRIME)
            if a
            else None
        )
        self._completed[i] = got
        return got

    def _eliminate(self, columns: Iterable[int]) -> None:
        """Markowitz elimination of the not yet pivoted rows on ``columns``' entries (only
        new columns have entries in those rows), recording every operation."""
        rows, col_rows = self.rows, self._col_rows
        heap = [(len(col_rows[j]), j) for j in columns if col_rows.get(j)]
        heapq.heapify(heap)
        done = self._done
        while heap:
            count, p = heapq.heappop(heap)
            rs = col_rows.get(p)
            if p in done or not rs or count != len(rs):
                continue
            r = min(rs, key=lambda r: (abs(rows[r][p]) != 1, len(rows[r]), r))
            pivot_row = rows[r]
            a = pivot_row[p]
            done.add(p)
            for j in pivot_row:
                col_rows[j].discard(r)
            made: list[tuple[int, Number]] = []
            for other in list(rs):
                target = rows[other]
                b = target[p]
                factor: Number = b * a if a in (1, -1) else Fraction(b) / a
                made.append((other, factor))
                for j, v in pivot_row.items():
                    new = target.get(j, 0) - factor * v
                    if new:
                        if j not in target:
                            col_rows[j].add(other)
                        target[j] = new
                    elif j in target:
                        del target[j]
                        col_rows[j].discard(other)
                self._mod.pop(other, None)
            self.pivot[r] = p
            self._place[r] = len(self.order)
            self.order.append(r)
            if made:
                self.ops[r] = made
            # Every column whose count changed is in the pivot row: queued once, as it is now.
            for j in pivot_row:
                if j not in done and col_rows[j]:
                    heapq.heappush(heap, (len(col_rows[j]), j))

    def values(self, rng: Random, wanted: Iterable[K]) -> dict[K, int]:
        """A random null vector (modulo the prime), evaluated on the ``wanted`` unknowns and
        what they depend on only: back substitution on demand from each wanted pivot (after
        the first round, a few dozen cells instead of the whole problem)."""
        pivot_row = self._pivot_row
        for r in self.order[len(pivot_row) :]:
            pivot_row[self.pivot[r]] = r
        mods = self._mod
        rows = self.rows
        owner, last = self._owner, self._last
        z: dict[int, int] = {}
        for start in map(self.index.__getitem__, wanted):
            if start in z:
                continue
            stack = [start]
            while stack:
                j = stack[-1]
                if j in z:
                    stack.pop()
                    continue
                solved: tuple[list[tuple[int, int]], int] | None
                p = pivot_row.get(j)
                if p is None:
                    d = owner.get(j)
                    # The last private unknown of a dropped row: solved from it (the row's
                    # unknowns are those of now: new ones may have joined it).
                    solved = self._completion(d) if d is not None and last[d] == j else None
                    if solved is None:  # a free column: any value
                        z[j] = draw(rng)
                        stack.pop()
                        continue
                else:
                    solved = mods.get(p)
                    if solved is None:
                        solved = mods[p] = _solved(rows[p], j)
                missing = [i for i, _ in solved[0] if i not in z]
                if missing:
                    stack.extend(missing)
                    continue
                total = 0
                for i, v in solved[0]:
                    total += v * z[i]
                z[j] = total * solved[1] % PRIME
                stack.pop()
        cells = self.cells
        return {cells[j]: v for j, v in z.items()}


def _solved(row: Mapping[int, Number], p: int) -> tuple[list[tuple[int, int]], int]:
    """A pivot row modulo the prime, as z_p = factor · Σ v·z_j: its other entries and the
    factor −1/a (a: the pivot's coefficient)."""
    reduced = _row_mod(row)
    a = reduced.pop(p)
    return list(reduced.items()), (-pow(a, -1, PRIME)) % PRIME
