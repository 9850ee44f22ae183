"""Exact group forming for a small pool, as a mixed-integer programme solved by HiGHS.

Why a MIP over column candidates: every hard rule except size and the "group of four waits"
rule is *hereditary* (any subset of a compatible set is compatible), so a pool's feasible groups
are exactly the subsets of a few maximal compatible sets — one per (local/digital, organisation,
theme, language, slot, gender mode, age window). We enumerate those sets, drop the ones contained
in another set with the same facilitator needs, and let the MIP pick members from each set.
Size bounds, the minimum-size waiting rule, facilitator capacity and the objective are linear.

Determinism: the model is built in canonical order, HiGHS runs single-threaded with a fixed
random seed and a *node* limit (not a time limit); if the limit is hit the best incumbent is used,
so the same input always gives the same answer.

Robustness: HiGHS keeps one task scheduler per process, sized by the first solve that runs. If any
solve with another ``threads`` setting ran first in this process (another library, a notebook, a
test), our single-threaded run is refused with an error. We then reset the process's scheduler and
try once more; a solve that still fails raises :class:`ExactSolverError`, so the caller can fall
back to the heuristic *and say so*, instead of silently returning a worse plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
from highspy._core import _Highs

from matching.context import Context, Formed, Option

#: Columns beyond this make the pool "not small"; the caller falls back to the heuristic.
MAX_SETS = 400
#: Branch-and-bound node limit; deterministic, unlike a time limit.
MAX_NODES = 5_000

_PLACE = 1_000_000.0  # per placed person; dominates everything else
_WAIT = 100.0  # per rank step of waiting order
_THEME = 10.0  # per step of theme preference
_MIX = 20.0  # per mixed-gender group
_SIZE = 5.0  # per person away from the target size


class ExactSolverError(RuntimeError):
    """HiGHS could not solve a model it should always solve (the all-zero plan is feasible).

    ``reason`` names the HiGHS statuses only; it never carries candidate data.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _Set:
    option: Option
    members: list[int]


def candidate_sets(ctx: Context, pool: list[int], *, local: bool, digital: bool) -> list[_Set]:
    """Maximal compatible sets of the pool, in canonical order."""
    units: list[tuple[bool, str, list[int]]] = []
    if local:
        for org in sorted({ctx.cands[ci].organisation for ci in pool}):
            units.append((False, org, [ci for ci in pool if ctx.cands[ci].organisation == org]))
    if digital:
        dig = [ci for ci in pool if ctx.cands[ci].digital_welcome]
        for dp in sorted({ctx.dpool(ci) for ci in dig}):
            mem = [ci for ci in dig if ctx.dpool(ci) == dp]
            for org in sorted({ctx.cands[ci].organisation for ci in mem}):
                units.append((True, org, mem))
    found: dict[tuple[bool, str, str | None, str, frozenset[int]], str] = {}
    for is_digital, org, mem in units:
        r = ctx.book.for_org(org)
        theme_set = {t for ci in mem for t in ctx.cands[ci].themes}
        themes: list[str | None] = [*sorted(theme_set), None]
        for theme in themes:
            tm = [
                ci
                for ci in mem
                if (ctx.cross_ok(ci, r) if theme is None else theme in ctx.cands[ci].themes)
            ]
            if len(tm) < r.min_size:
                continue
            for lang in sorted({lg for ci in tm for lg in ctx.langs[ci]}):
                lm = [ci for ci in tm if lang in ctx.cands[ci].languages]
                if len(lm) < r.min_size:
                    continue
                for slot in sorted({s for ci in lm for s in ctx.slots[ci]}):
                    sm = [ci for ci in lm if slot in ctx.cands[ci].slots]
                    if len(sm) < r.min_size:
                        continue
                    genders = sorted({g for ci in sm if (g := ctx.cands[ci].gender) is not None})
                    gsets = [[ci for ci in sm if not ctx.single[ci]]]
                    gsets += [[ci for ci in sm if ctx.cands[ci].gender == g] for g in genders]
                    for gm in gsets:
                        for lo in sorted({ctx.cands[ci].age_band for ci in gm}):
                            am = [
                                ci
                                for ci in gm
                                if lo <= ctx.cands[ci].age_band <= lo + r.max_age_span
                            ]
                            if len(am) >= r.min_size:
                                key = (is_digital, org, theme, lang, frozenset(am))
                                found.setdefault(key, slot)
    # Drop sets contained in a bigger set with the same needs; order stays canonical.
    keys = sorted(found, key=lambda k: (-len(k[4]), k[0], k[1], k[2] or "", k[3], sorted(k[4])))
    kept: list[tuple[bool, str, str | None, str, frozenset[int]]] = []
    for k in keys:
        if not any(k[:4] == q[:4] and k[4] <= q[4] for q in kept):
            kept.append(k)
    return [_Set(Option(k[0], k[1], k[2], k[3], found[k]), sorted(k[4])) for k in kept]


def solve(ctx: Context, pool: list[int], *, local: bool, digital: bool) -> list[Formed] | None:
    """Optimal groups for ``pool`` given ``ctx.left`` capacity (not consumed), or None when
    the pool has too many candidate sets to be called small.

    Raises:
        ExactSolverError: HiGHS failed even after a reset of its scheduler.
    """
    sets = candidate_sets(ctx, pool, local=local, digital=digital)
    if len(sets) > MAX_SETS:
        return None
    if not sets:
        return []
    rank = {ci: i for i, ci in enumerate(sorted(pool))}
    m = _Model()
    inst: list[tuple[_Set, int, dict[int, int], dict[int, int]]] = []  # set, z, y, w
    member_rows: dict[int, list[int]] = {}
    fac_rows: dict[int, list[int]] = {}
    for s in sets:
        r = ctx.book.for_org(s.option.organisation)
        orgs = sorted({ctx.cands[ci].organisation for ci in s.members})
        facs = _facilitators(ctx, s.option, orgs)
        if not facs:
            continue
        copies = min(len(s.members) // r.min_size, sum(ctx.left[f] for f in facs))
        prev_z: int | None = None
        mixed_ok = not any(ctx.single[ci] for ci in s.members)
        for _ in range(copies):
            z = m.var(0.0, binary=True)
            y = {}
            for ci in s.members:
                pos = ctx.theme_pos(ci, s.option.theme)
                gain = _PLACE + _WAIT * (len(pool) - rank[ci]) + _THEME * max(0, 5 - pos)
                y[ci] = m.var(gain, binary=True)
                member_rows.setdefault(ci, []).append(y[ci])
                m.row({y[ci]: 1.0, z: -1.0}, hi=0.0)
            w = {f: m.var(0.0, binary=True) for f in facs}
            for f, wf in w.items():
                fac_rows.setdefault(f, []).append(wf)
            ys = {v: 1.0 for v in y.values()}
            m.row({**ys, z: -float(r.max_size)}, hi=0.0)
            m.row({**ys, z: -float(r.min_size)}, lo=0.0)
            if r.min_size < r.target_size:
                extra = {y[ci]: 2.0 for ci in s.members if ctx.old(ci, r)}
                m.row({**ys, **extra, z: -float(r.min_size + 1)}, lo=0.0)
            m.row({**{wf: 1.0 for wf in w.values()}, z: -1.0}, lo=0.0, hi=0.0)
            if s.option.digital:
                own = {
                    y[ci]: 1.0
                    for ci in s.members
                    if ctx.cands[ci].organisation == s.option.organisation
                }
                m.row({**own, z: -1.0}, lo=0.0)
                for f, wf in w.items():
                    forg = ctx.facs[f].organisation
                    row = {y[ci]: 1.0 for ci in s.members if ctx.cands[ci].organisation == forg}
                    m.row({**row, wf: -1.0}, lo=0.0)
            dev = m.var(-_SIZE, binary=False, hi=float(r.max_size))
            m.row({dev: 1.0, **{v: -1.0 for v in y.values()}, z: float(r.target_size)}, lo=0.0)
            m.row({dev: 1.0, **ys, z: -float(r.target_size)}, lo=0.0)
            if mixed_ok:
                mix = m.var(_MIX, binary=True)
                for g in ("female", "male"):
                    same = {y[ci]: -1.0 for ci in s.members if ctx.cands[ci].gender == g}
                    m.row({mix: 1.0, **same}, hi=0.0)
            if prev_z is not None:
                m.row({prev_z: 1.0, z: -1.0}, lo=0.0)
            prev_z = z
            inst.append((s, z, y, w))
    for cols in member_rows.values():
        m.row(dict.fromkeys(cols, 1.0), hi=1.0)
    for f, cols in fac_rows.items():
        m.row(dict.fromkeys(cols, 1.0), hi=float(ctx.left[f]))
    values = m.solve()
    out: list[Formed] = []
    for s, z, y, w in inst:
        if values[z] > 0.5:
            members = [ci for ci, v in y.items() if values[v] > 0.5]
            fac = next(f for f, v in w.items() if values[v] > 0.5)
            out.append(Formed(members, s.option, fac))
    return out


def _facilitators(ctx: Context, opt: Option, orgs: list[str]) -> list[int]:
    """Every facilitator with capacity who could start a group of this option."""
    slug = "across" if opt.theme is None else opt.theme
    look = orgs if opt.digital else [opt.organisation]
    found = {
        i
        for org in look
        for i in ctx.fac_index.get((opt.digital, org, slug, opt.language), ())
        if ctx.left[i] > 0
    }
    return sorted(found)


class _Model:
    """A small row-wise model builder for HiGHS (maximisation)."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.integer: list[bool] = []
        self.rows: list[tuple[float, float, dict[int, float]]] = []

    def var(self, cost: float, *, binary: bool, hi: float = 1.0) -> int:
        self.cost.append(cost)
        self.lo.append(0.0)
        self.hi.append(hi)
        self.integer.append(binary)
        return len(self.cost) - 1

    def row(
        self,
        coef: dict[int, float],
        *,
        lo: float = -highspy.kHighsInf,
        hi: float = highspy.kHighsInf,
    ) -> None:
        self.rows.append((lo, hi, coef))

    def solve(self) -> list[float]:
        h = self._highs()
        status = h.run()
        if status == highspy.HighsStatus.kError:
            # Most likely the per-process scheduler was started by a solve with another
            # ``threads`` value (HiGHS refuses ours then). Resetting it is safe here: samhjelp
            # never runs two solves at once in one process (the core is sequential and the job's
            # worker process has one thread of work). A fresh object keeps the retry clean.
            _reset_scheduler()
            h = self._highs()
            status = h.run()
        info = h.getInfo()
        if status == highspy.HighsStatus.kError or info.primal_solution_status != 2:
            # 2 = feasible solution available
            model_status = h.modelStatusToString(h.getModelStatus())
            raise ExactSolverError(
                f"HiGHS run status {status.name}, model status {model_status!r},"
                f" primal solution status {info.primal_solution_status}"
            )
        return list(h.getSolution().col_value)

    def _highs(self) -> _Highs:
        # The bare core class: ``highspy.Highs()`` calls ``enableCallbacks()`` in its
        # constructor, which prints the "Running HiGHS ..." banner before any option can be
        # set. Here ``output_flag`` is off before HiGHS does anything, so nothing is printed.
        h = _Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", 0)
        h.setOptionValue("mip_max_nodes", MAX_NODES)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 0.5)
        lp = highspy.HighsLp()
        lp.num_col_ = len(self.cost)
        lp.num_row_ = len(self.rows)
        lp.col_cost_ = self.cost
        lp.col_lower_ = self.lo
        lp.col_upper_ = self.hi
        lp.row_lower_ = [r[0] for r in self.rows]
        lp.row_upper_ = [r[1] for r in self.rows]
        lp.sense_ = highspy.ObjSense.kMaximize
        start, index, value = [0], [], []
        for _, _, coef in self.rows:
            for col in sorted(coef):
                index.append(col)
                value.append(coef[col])
            start.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_ = lp.num_col_
        lp.a_matrix_.num_row_ = lp.num_row_
        lp.a_matrix_.start_ = start
        lp.a_matrix_.index_ = index
        lp.a_matrix_.value_ = value
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous
            for b in self.integer
        ]
        h.passModel(lp)
        return h


def _reset_scheduler() -> None:
    """Drop the process's HiGHS scheduler so the next run starts one with its own ``threads``
    (blocking: waits for the old worker threads to stop)."""
    _Highs.resetGlobalScheduler(True)
