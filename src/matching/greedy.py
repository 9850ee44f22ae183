"""The greedy seed-and-grow heuristic: the longest-waiting unplaced person gets the best group.

Its own module because it is the hot path of a country-wide run and is read and benchmarked on
its own; :mod:`matching.algorithm` decides where it is used and compares it with the exact
solver. Pure like the rest of the core.

The pass itself runs as machine code (Numba, :func:`matching.greedy_pass.run_pass`) over the
NumPy codes of everyone's choices (:class:`matching.codes.Codes`): per person and per option
the Python loop cost about a microsecond, which at 100,000 people was two seconds.
:func:`greedy` turns the pool and the facilitator capacity into arrays, runs the pass and turns
its groups back into :class:`~matching.context.Formed`. The compiled code is cached on disk, so
only the first run after an install compiles it; :func:`warm_up` loads it ahead of time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from matching.context import Context, Formed, Option
from matching.greedy_pass import run_pass
from matching.model import Candidate, RuleBook

if TYPE_CHECKING:
    from matching.codes import Codes
    from matching.greedy_pass import I64


def greedy(ctx: Context, pool: list[int], *, local: bool, digital: bool) -> list[Formed]:
    """Seed-and-grow: the longest-waiting unplaced person gets the best group around them.

    For the seed (people are taken in the order of ``pool``), every (local/digital, theme,
    language, slot) option is tried; the people who could join are collected longest-waiting
    first, the best age window is chosen, and the option with the largest group (up to the
    target), then the seed's preferred theme, local before digital, mixed gender and size
    nearest the target, wins. Consumes facilitator capacity in ``ctx.left``.
    """
    if not pool:
        return []
    k = ctx.codes
    order = np.array(sorted(pool), dtype=np.int64)
    seeds = np.searchsorted(order, pool)
    left = np.array(ctx.left, dtype=np.int64)
    n_groups, g_info, g_ptr, g_members = run_pass(
        order,
        seeds,
        local,
        digital,
        left,
        k.age,
        k.gender,
        k.single,
        k.org,
        k.dpool,
        k.rules,
        k.welcome,
        k.cross_own,
        k.theme_ptr,
        k.theme_val,
        k.lang_ptr,
        k.lang_val,
        k.slot_ptr,
        k.slot_val,
        k.rule_sizes,
        k.star,
        k.slug,
        k.dims,
        k.fac_ptr,
        k.fac_val,
        k.any_ptr,
        k.any_val,
        k.fac_rank,
        k.uniform,
        k.female,
        k.male,
    )
    if n_groups:
        ctx.left[:] = left.tolist()
    return _formed(ctx, k, n_groups, g_info, g_ptr, g_members)


def warm_up() -> None:
    """Load the compiled greedy now (compile it if no cache on disk has it), instead of in the
    first run: about 0.2 s with the cache, several seconds without. For a worker process
    at start, or CI before timed tests; runs a pass over two made-up people."""
    when = datetime(2000, 1, 1, tzinfo=UTC)
    people = [
        Candidate(
            id=str(i),
            organisation="o",
            municipality="m",
            themes=("t",),
            cross_problem_welcome=True,
            age_band=40,
            gender=None,
            same_gender=False,
            languages=frozenset({"nb"}),
            slots=frozenset({"mon-evening"}),
            digital_welcome=True,
            waiting_since=when,
        )
        for i in range(2)
    ]
    ctx = Context(people, RuleBook(), [], when)
    greedy(ctx, [0, 1], local=True, digital=True)


def _formed(ctx: Context, k: Codes, n: int, info: I64, ptr: I64, members: I64) -> list[Formed]:
    """The pass's groups as :class:`Formed`: (digital, theme, language, slot, facilitator,
    seed) per group in ``info``, members (sorted) in ``members[ptr[g]:ptr[g + 1]]``."""
    rows = info[:n].tolist()
    bounds = ptr[: n + 1].tolist()
    flat = members[: bounds[-1] if n else 0].tolist()
    themes, langs, slots, orgs = k.themes, k.langs, k.slots, ctx.org
    out: list[Formed] = []
    for g, (dig, theme, lang, slot, fac, seed) in enumerate(rows):
        opt = Option(
            bool(dig),
            orgs[seed],
            themes[theme] if theme < len(themes) else None,
            langs[lang],
            slots[slot],
        )
        out.append(Formed(flat[bounds[g] : bounds[g + 1]], opt, fac))
    return out
