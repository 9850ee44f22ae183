"""The greedy seed-and-grow heuristic: the longest-waiting unplaced person gets the best group.

Its own module because it is the hot path of a country-wide run (the bucket index and the lane
scans are tuned for speed) and is read and benchmarked on its own; :mod:`matching.algorithm`
decides where it is used and compares it with the exact solver. Pure like the rest of the core.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from matching.context import Context, Formed, Option, best_window
from matching.model import ACROSS, Rules

_V = TypeVar("_V")

#: Pools up to this many people get their bitsets person by person (see :meth:`_Bits._small`).
_SMALL = 256


def _mask(flags: npt.NDArray[np.bool_]) -> int:
    """The bitset of ``flags``: bit ``i`` set when ``flags[i]``."""
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


def _masks(table: npt.NDArray[np.bool_], values: Sequence[_V]) -> dict[_V, int]:
    """One bitset per column of ``table`` (rows = bits) that has a bit set, by ``values``."""
    packed = np.packbits(table, axis=0, bitorder="little").T.copy()
    return {
        values[j]: int.from_bytes(packed[j].tobytes(), "little")
        for j in np.flatnonzero(table.any(axis=0)).tolist()
    }


def _one_hot(codes: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.bool_], list[int]]:
    """``codes`` as a table person x distinct code, and the distinct codes."""
    distinct = np.unique(codes)
    return codes[:, None] == distinct[None, :], distinct.tolist()


class _Bits:
    """The pool of one greedy pass as bitsets: Python ints with one bit per person.

    Bit ``i`` is the person ``at[i]``; the longest-waiting person has the *highest* bit, so the
    next person in priority order is always ``x.bit_length() - 1`` (constant time), and a lane
    (everyone of a pool, theme, language and slot) is the AND of four bitsets instead of a list
    built up front and walked person by person. The greedy keeps the unplaced people in one
    more bitset, so a scan ANDs in the seed's age window and the gender rule and reads only the
    people it takes: nobody placed or out of the age window is visited.
    """

    __slots__ = (
        "_buckets",
        "_cross",
        "_ctx",
        "_order",
        "_windows",
        "at",
        "band",
        "dpool",
        "gender",
        "lang",
        "notsingle",
        "org",
        "pos",
        "slot",
        "theme",
        "wanted",
    )

    theme: dict[str | None, int]
    lang: dict[str, int]
    slot: dict[str, int]
    band: dict[int, int]
    gender: dict[str | None, int]
    notsingle: int
    org: dict[str, int]
    dpool: dict[str, int]

    def __init__(self, ctx: Context, pool: list[int]) -> None:
        order = sorted(pool)
        n = len(order)
        self._ctx = ctx
        self._order = order
        self.at: list[int] = order[::-1]
        self.pos: dict[int, int] = {ci: n - 1 - k for k, ci in enumerate(order)}
        if n <= _SMALL:
            self._small(ctx)
        else:
            self._large(ctx)
        #: Gender -> people without a single-gender wish or of that gender.
        self.wanted: dict[str, int] = {
            g: m | self.notsingle for g, m in self.gender.items() if g is not None
        }
        self._buckets: dict[tuple[str, str | None, str], int] = {}
        self._windows: dict[tuple[int, int], int] = {}
        self._cross: dict[int, tuple[Rules, int]] = {}

    def _large(self, ctx: Context) -> None:
        """The bitsets from the NumPy codes: a few array operations per choice."""
        codes = ctx.codes
        rows = np.array(self.at, dtype=np.int64)
        self.theme = dict(_masks(codes.theme_tab[rows], codes.themes))
        self.theme[None] = _mask(codes.cross_own[rows])
        self.lang = _masks(codes.lang_tab[rows], codes.langs)
        self.slot = _masks(codes.slot_tab[rows], codes.slots)
        table, ages = _one_hot(codes.age[rows])
        self.band = _masks(table, ages)
        table, distinct = _one_hot(codes.gender[rows])
        self.gender = _masks(table, [codes.genders[k] for k in distinct])
        self.notsingle = _mask(codes.notsingle[rows])
        table, distinct = _one_hot(codes.org[rows])
        self.org = _masks(table, [codes.orgs[k] for k in distinct])
        table, distinct = _one_hot(codes.dpool[rows])
        # Code -1: does not welcome a digital group (in no digital pool).
        self.dpool = _masks(table, [codes.dpools[k] if k >= 0 else "" for k in distinct])
        self.dpool.pop("", None)

    def _small(self, ctx: Context) -> None:
        """The same bitsets person by person: cheaper than the array calls for a small pool."""
        cands, cross_own, age, gender = ctx.cands, ctx.cross_own, ctx.age, ctx.gender
        single, org = ctx.single, ctx.org
        theme: dict[str | None, int] = {None: 0}
        lang: dict[str, int] = {}
        slot: dict[str, int] = {}
        band: dict[int, int] = {}
        genders: dict[str | None, int] = {}
        orgs: dict[str, int] = {}
        dpools: dict[str, int] = {}
        notsingle = 0
        for i, ci in enumerate(self.at):
            b = 1 << i
            c = cands[ci]
            for t in c.themes:
                theme[t] = theme.get(t, 0) | b
            if cross_own[ci]:
                theme[None] |= b
            for v in c.languages:
                lang[v] = lang.get(v, 0) | b
            for v in c.slots:
                slot[v] = slot.get(v, 0) | b
            x = age[ci]
            band[x] = band.get(x, 0) | b
            g = gender[ci]
            genders[g] = genders.get(g, 0) | b
            if not single[ci]:
                notsingle |= b
            o = org[ci]
            orgs[o] = orgs.get(o, 0) | b
            if c.digital_welcome:
                dp = ctx.dpool(ci)
                dpools[dp] = dpools.get(dp, 0) | b
        self.theme, self.lang, self.slot, self.band = theme, lang, slot, band
        self.gender, self.notsingle, self.org, self.dpool = genders, notsingle, orgs, dpools

    def bucket(self, pool: str, theme: str | None, lang: str) -> int:
        """Everyone of the pass in the pool who could meet about ``theme`` in ``lang`` (the
        membership of :meth:`Context.buckets` without the slot)."""
        k = (pool, theme, lang)
        got = self._buckets.get(k)
        if got is None:
            where = self.dpool if pool.startswith("digital:") else self.org
            got = self._buckets[k] = (
                where.get(pool, 0) & self.theme.get(theme, 0) & self.lang.get(lang, 0)
            )
        return got

    def window(self, age: int, span: int) -> int:
        """Everyone whose age band is within ``span`` of ``age``."""
        k = (age, span)
        got = self._windows.get(k)
        if got is None:
            got = 0
            for band, m in self.band.items():
                if age - span <= band <= age + span:
                    got |= m
            self._windows[k] = got
        return got

    def cross(self, r: Rules) -> int:
        """Everyone who may join a cross-problem group under the group's rules ``r``: under
        their own rules ``r`` (the lane checked those), or welcoming one and waited long
        enough under ``r``."""
        got = self._cross.get(id(r))
        if got is None or got[0] is not r:
            codes = self._ctx.codes
            rows = np.array(self.at, dtype=np.int64)
            same = next((k for k, x in enumerate(codes.rules_of) if x is r), -1)
            n = len(self._order)
            old = bisect_left(self._order, self._ctx.cutoffs(r)[1])
            waited = ((1 << old) - 1) << (n - old)
            m = _mask(codes.rules[rows] == same) | (_mask(codes.welcome[rows]) & waited)
            got = self._cross[id(r)] = (r, m)
        return got[1]


def greedy(ctx: Context, pool: list[int], *, local: bool, digital: bool) -> list[Formed]:
    """Seed-and-grow: the longest-waiting unplaced person gets the best group around them.

    For the seed, every (local/digital, theme, language, slot) option is tried; the people who
    could join are collected longest-waiting first, the best age window is chosen, and the
    option with the largest group (up to the target), then the seed's preferred theme, local
    before digital, mixed gender and size nearest the target, wins.
    """
    if not pool:
        return []
    bits = _Bits(ctx, pool)
    pos = bits.pos
    placed = bytearray(len(ctx.cands))
    #: The unplaced people of the pool, the seed left out while its options are scanned.
    alive = (1 << len(pos)) - 1
    starters = _Starters(ctx)
    out: list[Formed] = []
    for seed in pool:
        if placed[seed]:
            continue
        others = alive ^ (1 << pos[seed])
        found = _best_group(ctx, seed, bits, others, starters, local=local, digital=digital)
        if found is None:
            continue
        taken = 0
        for m in found.members:
            placed[m] = 1
            taken |= 1 << pos[m]
        alive ^= taken
        ctx.left[found.facilitator] -= 1
        out.append(found)
    return out


class _Starters:
    """Facilitator look-ups of one greedy pass, remembered between seeds.

    Capacity only shrinks during a pass, so the first facilitator (in preference order) with
    capacity stays the first until its capacity runs out, and "nobody" stays nobody. A
    remembered answer is re-checked against ``ctx.left`` and looked up again only then. One
    object per pass: :func:`matching.algorithm._best_of` restores capacity between passes.
    """

    __slots__ = ("_ctx", "_digital", "_local")

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._local: dict[tuple[str, str | None, str], int | None] = {}
        self._digital: dict[tuple[str | None, str, str | None], int | None] = {}

    def local(self, org: str, theme: str | None, lang: str) -> int | None:
        """:meth:`Context.facilitator` for a local group of ``org``."""
        k = (org, theme, lang)
        i = self._local.get(k, -1)
        if i is not None and (i < 0 or self._ctx.left[i] <= 0):
            i = self._local[k] = self._ctx.facilitator(False, [org], theme, lang)
        return i

    def digital(self, theme: str | None, lang: str, org: str | None) -> bool:
        """:meth:`Context.digital_capacity`."""
        k = (theme, lang, org)
        i = self._digital.get(k, -1)
        if i is not None and (i < 0 or self._ctx.left[i] <= 0):
            i = self._digital[k] = self._first_digital(theme, lang, org)
        return i is not None

    def _first_digital(self, theme: str | None, lang: str, org: str | None) -> int | None:
        ctx = self._ctx
        slug = ACROSS if theme is None else theme
        if org is not None:
            facs = ctx.fac_index.get((True, org, slug, lang), ())
        else:
            facs = ctx.digital_facs.get((slug, lang), ())
        return next((i for i in facs if ctx.left[i] > 0), None)


def _best_group(
    ctx: Context,
    seed: int,
    bits: _Bits,
    alive: int,
    starters: _Starters,
    *,
    local: bool,
    digital: bool,
) -> Formed | None:
    c = ctx.cands[seed]
    best: Formed | None = None
    best_key: tuple[int, int, int, int, int] | None = None
    modes = ([False] if local else []) + ([True] if digital and c.digital_welcome else [])
    r = ctx.own_rules[seed]
    old_cut = ctx.cutoffs(r)[0]
    gender = ctx.gender
    org_of = ctx.org
    g = gender[seed]
    seed_single = ctx.single[seed]
    target = r.target_size
    min_size, max_size, span = r.min_size, r.max_size, r.max_age_span
    cap = max_size + 2
    theme_options = ctx.themes(seed, r)
    langs = ctx.langs[seed]
    # Who may be collected at all: unplaced, within one span of the seed's age, and of the
    # seed's gender (a single-gender wish), without a single-gender wish (no gender), or either.
    near = alive & bits.window(ctx.age[seed], span)
    if seed_single:
        near &= bits.gender[g]
    elif g is None:
        near &= bits.notsingle
    else:
        near &= bits.wanted[g]
    cross = bits.cross(r) if not ctx.uniform_rules else -1
    slot_bits = bits.slot
    for is_digital in modes:
        pool = ctx.dpool(seed) if is_digital else c.organisation
        fac_org = None if pool == "digital:*" else c.organisation
        where = 0 if is_digital else 1
        for theme, pos in theme_options:
            # No option of this theme can rank above (target, -pos, where, mixed, on target).
            if best_key is not None and (target, -pos, where, 1, 0) <= best_key:
                continue
            for lang in langs:
                local_fac: int | None = None
                if not is_digital:
                    # A local group's facilitator depends only on (theme, language) here.
                    local_fac = starters.local(pool, theme, lang)
                    if local_fac is None:
                        continue
                elif not starters.digital(theme, lang, fac_org):
                    continue
                # Everyone who could join in any of the seed's slots: often too few already.
                anyslot = bits.bucket(pool, theme, lang) & near
                if theme is None:
                    # A cross-problem group applies the seed's rules to everyone.
                    anyslot &= cross
                total = anyslot.bit_count() + 1
                if total < min_size:
                    continue
                if best_key is not None and (min(total, target), -pos, where, 1, 0) <= best_key:
                    continue
                for slot in ctx.slots[seed]:
                    found = anyslot & slot_bits.get(slot, 0)
                    # At most this many people (the seed included) could be in the group.
                    total = found.bit_count() + 1
                    if total < min_size:
                        continue
                    if best_key is not None and (min(total, target), -pos, where, 1, 0) <= best_key:
                        continue
                    mixed, same, m_lo, m_hi, s_lo, s_hi, same_single = _take(
                        ctx, bits.at, found, total - 1, seed, cap, g, seed_single
                    )
                    # Which lists to try: a single-gender wish, or no gender, leaves one; the
                    # same-gender list only adds something with a single wish in it or more
                    # people than the mixed list.
                    lists: tuple[tuple[list[int], int, int], ...]
                    if seed_single:
                        lists = ((same, s_lo, s_hi),)
                    elif g is None or (len(same) <= len(mixed) and not same_single):
                        lists = ((mixed, m_lo, m_hi),)
                    else:
                        lists = ((mixed, m_lo, m_hi), (same, s_lo, s_hi))
                    for others, ages_lo, ages_hi in lists:
                        # Everyone within one span (the usual case): the window is everyone.
                        if ages_hi - ages_lo <= span:
                            chosen = others
                        else:
                            chosen = best_window(ctx, seed, others, span)
                        n = len(chosen) + 1
                        if n < min_size:
                            continue
                        size = n if n <= max_size else _size(n, min_size, target, max_size)
                        members = [seed, *chosen[: size - 1]]
                        if size == min_size < target and min(members) >= old_cut:
                            continue
                        if is_digital:
                            orgs = sorted({org_of[m] for m in members})
                            fac = ctx.facilitator(True, orgs, theme, lang)
                            if fac is None:
                                continue
                        else:
                            fac = local_fac
                        genders = {gender[m] for m in members}
                        rank = (
                            min(size, target),
                            -pos,
                            where,
                            int("female" in genders and "male" in genders),
                            -abs(size - target),
                        )
                        if best_key is None or rank > best_key:
                            best_key = rank
                            opt = Option(is_digital, c.organisation, theme, lang, slot)
                            assert fac is not None
                            best = Formed(sorted(members), opt, fac)
                        if best_key[:3] == (target, 0, 1):
                            return best
    return best


def _take(
    ctx: Context,
    at: list[int],
    found: int,
    count: int,
    seed: int,
    cap: int,
    g: str | None,
    seed_single: bool,
) -> tuple[list[int], list[int], int, int, int, int, bool]:
    """The people of bitset ``found`` (``count`` people, all unplaced, within the age span,
    each either without a single-gender wish or of gender ``g``) longest-waiting first: the
    first ``cap`` without a single-gender wish (unless the seed has one) and the first ``cap``
    of gender ``g`` (if ``g`` is given); with the lowest and highest age band of each list, the
    seed's included (so the caller can see at once whether one age window holds everyone), and
    whether anyone in the second list has a single-gender wish.

    People are read from the highest bit down. Every step on a big int costs its length, so
    the steps work on its top part (``found >> shift``), sized to hold about the people needed
    if they were spread evenly, and move down (twice as far each time) if that was not enough.
    """
    age = ctx.age
    single = ctx.single
    gender = ctx.gender
    a = age[seed]
    m_lo = m_hi = s_lo = s_hi = a
    mixed: list[int] = []
    same: list[int] = []
    same_single = False
    want_mixed = not seed_single
    want_same = g is not None
    # Room left in each list; a list not wanted has none.
    n_mixed = cap if want_mixed else 0
    n_same = cap if want_same else 0
    # The two lists mostly overlap (the seed's gender without a single-gender wish).
    need = cap + cap // 2 if want_mixed and want_same else cap
    length = found.bit_length()
    width = length if count <= need else min(length, need * length // count + 64)
    while found:
        shift = length - width
        part = found >> shift
        while part:
            i = part.bit_length() - 1
            part ^= 1 << i
            ci = at[i + shift]
            x = age[ci]
            if n_mixed and not single[ci]:
                mixed.append(ci)
                n_mixed -= 1
                if x < m_lo:
                    m_lo = x
                elif x > m_hi:
                    m_hi = x
            if n_same and gender[ci] == g:
                same.append(ci)
                n_same -= 1
                if single[ci]:
                    same_single = True
                if x < s_lo:
                    s_lo = x
                elif x > s_hi:
                    s_hi = x
            if not n_mixed and not n_same:
                return mixed, same, m_lo, m_hi, s_lo, s_hi, same_single
        if not shift:
            break
        found &= (1 << shift) - 1
        length = found.bit_length()
        width = min(length, 2 * width)
    return mixed, same, m_lo, m_hi, s_lo, s_hi, same_single


def _size(n: int, lo: int, target: int, hi: int) -> int:
    """Size of the seed's group when ``n`` people fit: split big sets into groups near target."""
    if n < lo:
        return 0
    if n <= hi:
        return n
    groups = max(-(-n // hi), round(n / target))
    while groups > 1 and n // groups < lo:
        groups -= 1
    return min(hi, -(-n // groups))
