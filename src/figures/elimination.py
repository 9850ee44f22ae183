"""Exact sparse elimination for the disclosure audit: which unknowns a set of linear
equations fixes, by random null vectors over an exact echelon form (see :func:`null_vectors`).

Split from :mod:`figures.disclosure` (which builds the equations and decides what to suppress);
this is the linear algebra alone.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction
from random import Random
from typing import TYPE_CHECKING, TypeVar

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
