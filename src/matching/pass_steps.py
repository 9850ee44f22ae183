"""The small compiled steps of the greedy's pass (:mod:`matching.greedy_pass`): the Numba
decorator with its disk cache, the group size rule, the age window, a facilitator's lookup and
the lanes' compaction. Split from ``greedy_pass`` to keep modules short; pure like the core.
Numba caches them inside ``greedy_pass.run_pass`` and checks only that file's time stamp:
after changing this file, touch ``greedy_pass.py`` too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

_F = TypeVar("_F", bound=Callable[..., Any])


def njit(fn: _F) -> _F:
    """Compile ``fn`` with Numba (no Python objects), cached on disk when a cache folder can be
    written: next to this file, else the user's cache folder (``NUMBA_CACHE_DIR`` to choose
    one); without one the code is compiled in each process instead."""
    try:
        return cast(_F, numba.njit(cache=True)(fn))
    except RuntimeError:  # no writable cache location: "cannot cache function"
        return cast(_F, numba.njit(fn))


I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@njit
def size_of(n: int, lo: int, target: int, hi: int) -> int:
    """Size of the seed's group when ``n`` people fit: split big sets into groups near target.

    ``round`` as Python's (halves to even), on integers.
    """
    if n < lo:
        return 0
    if n <= hi:
        return n
    q, r = divmod(n, target)
    rounded = q + 1 if 2 * r > target or (2 * r == target and q % 2 == 1) else q
    groups = max(-(-n // hi), rounded)
    while groups > 1 and n // groups < lo:
        groups -= 1
    return min(hi, -(-n // groups))


@njit
def window(ages: I64, s: I64, count: int, a: int, span: int) -> tuple[int, int]:
    """The age window ``[lo, hi]`` of :func:`matching.context.best_window` for the first
    ``count`` (at least one) of ``ages`` and a seed of age ``a``; (0, -1) when it holds
    nobody. ``s`` is room for the sorted ages."""
    for i in range(count):  # insertion sort: a dozen ages at most
        x = ages[i]
        j = i
        while j > 0 and s[j - 1] > x:
            s[j] = s[j - 1]
            j -= 1
        s[j] = x
    if max(s[count - 1], a) - min(s[0], a) <= span:
        return min(s[0], a), max(s[count - 1], a)
    best_lo, best_n = a, -1
    prev = -(1 << 62)
    for i in range(count + 1):
        if i < count:
            lo = s[i]
            if lo < a - span or lo >= a or lo == prev:
                continue
            prev = lo
        else:
            lo = a
        n = 0
        for j in range(count):
            if lo <= s[j] <= lo + span:
                n += 1
        if n > best_n:
            best_lo, best_n = lo, n
    if best_n <= 0:
        return 0, -1
    return best_lo, best_lo + span


@njit
def first_fac(fac_val: I64, lo: int, hi: int, left: I64) -> int:
    for j in range(lo, hi):
        if left[fac_val[j]] > 0:
            return int(fac_val[j])
    return -1


@njit
def compact(lanes: I64, lo: int, hi: int, placed: B, seed: int) -> int:
    """Drop the placed people (not ``seed``) from ``lanes[lo:hi]``, keeping the order; returns
    the new end."""
    w = lo
    for q in range(lo, hi):
        i = lanes[q]
        if not placed[i] or i == seed:
            lanes[w] = i
            w += 1
    return w


@njit
def digital_fac(
    order: I64,
    cand: I64,
    size: int,
    seed_org: int,
    org: I64,
    sl: int,
    lang: int,
    dims: I64,
    fac_ptr: I64,
    fac_val: I64,
    fac_rank: I64,
    left: I64,
) -> int:
    """:meth:`Context.facilitator` of a digital group: the seed and ``cand[:size - 1]``."""
    n_langs, n_slugs, n_orgs = max(dims[1], 1), dims[3], dims[4]
    fac = -1
    for e in range(size):
        o = seed_org if e == 0 else org[order[cand[e - 1]]]
        seen = False
        for e2 in range(e):
            if o == (seed_org if e2 == 0 else org[order[cand[e2 - 1]]]):
                seen = True
                break
        if seen:
            continue
        key = ((n_orgs + o) * n_slugs + sl) * n_langs + lang
        f = first_fac(fac_val, fac_ptr[key], fac_ptr[key + 1], left)
        if f >= 0 and (fac < 0 or fac_rank[f] < fac_rank[fac]):
            fac = f
    return fac
