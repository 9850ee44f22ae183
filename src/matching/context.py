"""Shared, precomputed view of one matching run, used by the heuristic, the exact step and the
diagnosis of unplaced people.

Candidates are held by index in *priority order* (longest-waiting first, then id). Every loop in
the core walks that order or a sorted key, so the plan never depends on the order the caller
passed things in.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from matching.model import ACROSS, ALL_SLOTS, Candidate, Facilitator, RuleBook, Rules

SLOT_ORDER = {s: i for i, s in enumerate(ALL_SLOTS)}
_KNOWN_SLOTS = frozenset(ALL_SLOTS)
_by_id = attrgetter("id")
_by_waiting_since = attrgetter("waiting_since")
_T = TypeVar("_T")

#: Bucket key: (pool, theme or None, language, slot). The pool is the organisation for local
#: groups and "digital:<pool>" for digital ones.
BucketKey = tuple[str, str | None, str, str]


def sorted_slots(slots: Iterable[str]) -> list[str]:
    """Slots in canonical week order; unknown strings last, alphabetically."""
    given = slots if isinstance(slots, frozenset | set) else set(slots)
    if given <= _KNOWN_SLOTS:
        return sorted(given, key=SLOT_ORDER.__getitem__)
    known = [s for s in ALL_SLOTS if s in given]
    return known + sorted(given - SLOT_ORDER.keys())


class WeekOrder:
    """``slots[ci]``: candidate ``ci``'s slots as a list in week order, sorted on first use.

    People with the same choices share one list (there are far fewer distinct choices than
    people); callers must not change the lists.
    """

    __slots__ = ("_cands", "_lists", "_memo")

    def __init__(self, cands: list[Candidate]) -> None:
        self._cands = cands
        self._lists: list[list[str] | None] = [None] * len(cands)
        self._memo: dict[frozenset[str], list[str]] = {}

    def __getitem__(self, ci: int) -> list[str]:
        got = self._lists[ci]
        if got is None:
            chosen = self._cands[ci].slots
            got = self._memo.get(chosen)
            if got is None:
                got = self._memo[chosen] = sorted_slots(chosen)
            self._lists[ci] = got
        return got


@dataclass(slots=True)
class Option:
    """One possible group: where, about what, in which language and when."""

    digital: bool
    organisation: str
    theme: str | None
    language: str
    slot: str


@dataclass(slots=True)
class Formed:
    """A group found by the heuristic or the exact step, by candidate index."""

    members: list[int]
    option: Option
    facilitator: int


class Context:
    """Candidates, rules and facilitator capacity of one run; capacity is consumed in place."""

    def __init__(
        self,
        candidates: Iterable[Candidate],
        book: RuleBook,
        facilitators: Iterable[Facilitator],
        now: datetime,
    ) -> None:
        given = list(candidates)
        # Two stable sorts equal one sort by (waiting_since, id) and compare single attributes,
        # which is about three times faster than a tuple key on 100,000 people.
        self.cands: list[Candidate] = sorted(given, key=_by_id)
        self.cands.sort(key=_by_waiting_since)
        cands = self.cands
        # The per-person lists below are read in the order the candidates were given (usually
        # the order they were created in, so one after the other in memory) and then put in
        # priority order: reading 100,000 objects in priority order, scattered over memory,
        # took three to four times as long per attribute. ``perm`` finds them by identity.
        where = {id(c): i for i, c in enumerate(given)}
        perm = [where[id(c)] for c in cands]
        del where
        self._perm = perm
        self._given = given
        if len({c.id for c in given}) != len(given):
            raise ValueError("candidate ids must be unique")
        self.now = now
        self.book = book
        org_rules: dict[str, Rules] = {}
        org = [c.organisation for c in given]
        for o in dict.fromkeys(org):
            org_rules[o] = book.for_org(o)
        self.org: list[str] = [org[i] for i in perm]
        self.own_rules: list[Rules] = [org_rules[o] for o in self.org]
        #: Everyone is under the same rules object (no override applies).
        self.uniform_rules = len({id(r) for r in org_rules.values()}) <= 1
        self.since: list[datetime] = [c.waiting_since for c in cands]
        # Plain per-index arrays: the hot loops read these instead of dataclass attributes.
        self.age: list[int] = self.given_order([c.age_band for c in given])
        gender = [c.gender for c in given]
        self.gender: list[str | None] = [gender[i] for i in perm]
        single = [c.same_gender for c in given]
        self.single: list[bool] = [
            single[i] and g is not None for i, g in zip(perm, self.gender, strict=True)
        ]
        lang_memo: dict[frozenset[str], list[str]] = {}
        self.langs: list[list[str]] = self.given_order(
            [
                lang_memo.get(c.languages) or lang_memo.setdefault(c.languages, sorted(c.languages))
                for c in given
            ]
        )
        #: Each person's slots in week order, sorted when first read (only seeds and people
        #: being explained need the order; sorting 100,000 sets up front was a tenth of a run).
        self.slots = WeekOrder(cands)
        self._cuts: dict[int, tuple[Rules, tuple[int, int]]] = {}
        #: May join a cross-problem group now under their own organisation's rules.
        cross_cut = {id(r): self.cutoffs(r)[1] for r in org_rules.values()}
        welcome = self.given_order([c.cross_problem_welcome for c in given])
        self.cross_own: list[bool] = [
            w and ci < cross_cut[id(r)]
            for ci, (w, r) in enumerate(zip(welcome, self.own_rules, strict=True))
        ]
        self._codes: Codes | None = None
        self.facs: list[Facilitator] = sorted(facilitators, key=lambda f: f.id)
        if len({f.id for f in self.facs}) != len(self.facs):
            raise ValueError("facilitator ids must be unique")
        self.left: list[int] = [max(f.free_starts, 0) for f in self.facs]
        # Least versatile facilitator first: keeps the all-rounders free for rarer groups.
        order = sorted(
            range(len(self.facs)),
            key=lambda i: (len(self.facs[i].themes) * len(self.facs[i].languages), self.facs[i].id),
        )
        self.fac_index: dict[tuple[bool, str, str, str], list[int]] = defaultdict(list)
        #: (theme slug, language) -> digital facilitators of any organisation.
        self.digital_facs: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i in order:
            f = self.facs[i]
            for theme in f.themes:
                for lang in f.languages:
                    self.fac_index[(False, f.organisation, theme, lang)].append(i)
                    if f.digital:
                        self.fac_index[(True, f.organisation, theme, lang)].append(i)
                        self.digital_facs[(theme, lang)].append(i)

    def given_order(self, values: list[_T]) -> list[_T]:
        """``values``, one per candidate in the order they were given, in priority order."""
        return [values[i] for i in self._perm]

    @property
    def codes(self) -> Codes:
        """Everyone's choices as NumPy codes (built on first use; see :class:`Codes`)."""
        if self._codes is None:
            self._codes = Codes(self)
        return self._codes

    def digital_capacity(self, theme: str | None, lang: str, org: str | None) -> bool:
        """Whether any digital facilitator (of ``org``, or of any organisation when None) has
        capacity left for the theme (``None``: cross-problem) and language."""
        slug = ACROSS if theme is None else theme
        left = self.left
        if org is not None:
            return any(left[i] > 0 for i in self.fac_index.get((True, org, slug, lang), ()))
        return any(left[i] > 0 for i in self.digital_facs.get((slug, lang), ()))

    def dpool(self, ci: int) -> str:
        """Digital pool of a candidate: national, or their own catchment if it opts out."""
        if self.own_rules[ci].pool_digital_across_catchments:
            return "digital:*"
        return "digital:" + self.cands[ci].organisation

    def themes(self, ci: int, r: Rules) -> list[tuple[str | None, int]]:
        """(theme, preference position) options; cross-problem (None) last, if allowed yet."""
        c = self.cands[ci]
        out: list[tuple[str | None, int]] = [(t, p) for p, t in enumerate(c.themes)]
        if self.cross_own[ci] if r is self.own_rules[ci] else self.cross_ok(ci, r):
            out.append((None, len(c.themes)))
        return out

    def waited(self, ci: int) -> timedelta:
        """How long candidate ``ci`` has waited at ``now`` (never negative)."""
        return max(self.now - self.since[ci], timedelta(0))

    def cutoffs(self, r: Rules) -> tuple[int, int]:
        """(old, cross): candidates with an index below ``old`` have waited
        ``min_size_after_days``, below ``cross`` ``cross_problem_after_days``.

        Candidates are sorted by ``waiting_since``, so "has waited at least d days" holds for a
        prefix of the priority order; one binary search per rule set replaces a timedelta
        comparison per person and check.
        """
        # Keyed by identity (hashing the dataclass costs more than the look-up saves); the
        # entry keeps ``r`` alive, so its id cannot be reused by another object.
        got = self._cuts.get(id(r))
        if got is None or got[0] is not r:
            cut = (self._prefix(r.min_size_after_days), self._prefix(r.cross_problem_after_days))
            got = self._cuts[id(r)] = (r, cut)
        return got[1]

    def _prefix(self, days: int) -> int:
        """Number of candidates who have waited at least ``days`` days at ``now``."""
        if days <= 0:
            return len(self.since)  # waiting time is never negative
        try:
            latest = self.now - timedelta(days=days)
        except OverflowError:
            return 0
        return bisect_right(self.since, latest)

    def cross_ok(self, ci: int, r: Rules) -> bool:
        """Welcomes a cross-problem group and has waited long enough under rules ``r``."""
        return self.cands[ci].cross_problem_welcome and ci < self.cutoffs(r)[1]

    def old(self, ci: int, r: Rules) -> bool:
        """Has waited long enough that a group of minimum size may be proposed for them."""
        return ci < self.cutoffs(r)[0]

    def theme_pos(self, ci: int, theme: str | None) -> int:
        """Position of ``theme`` in the person's preferences (cross-problem ranks last)."""
        t = self.cands[ci].themes
        return len(t) if theme is None else t.index(theme)

    def facilitator(
        self, digital: bool, orgs: Sequence[str], theme: str | None, lang: str
    ) -> int | None:
        """A facilitator with capacity for the group, or None; deterministic preference."""
        slug = ACROSS if theme is None else theme
        best: int | None = None
        best_key: tuple[int, str] | None = None
        for org in orgs:
            for i in self.fac_index.get((digital, org, slug, lang), ()):
                if self.left[i] > 0:
                    f = self.facs[i]
                    key = (len(f.themes) * len(f.languages), f.id)
                    if best_key is None or key < best_key:
                        best, best_key = i, key
                    break  # lists are already in preference order
        return best

    def buckets(
        self, members: Iterable[int], *, local: bool, digital: bool
    ) -> dict[BucketKey, list[int]]:
        """Index candidates by every (pool, theme, language, slot) they could meet in.

        Cross-problem eligibility uses the person's own rules; the group's rules are checked
        again when members are collected.
        """
        out: dict[BucketKey, list[int]] = defaultdict(list)
        for ci in sorted(members):
            c = self.cands[ci]
            pools = []
            if local:
                pools.append(c.organisation)
            if digital and c.digital_welcome:
                pools.append(self.dpool(ci))
            themes: list[str | None] = list(c.themes)
            if self.cross_own[ci]:
                themes.append(None)
            for theme in themes:
                for lang in self.langs[ci]:
                    for slot in self.slots[ci]:
                        for pool in pools:
                            out[(pool, theme, lang, slot)].append(ci)
        return out


class Codes:
    """Everyone's choices as NumPy arrays: what the compiled greedy (:mod:`matching.greedy`)
    works on.

    Rows follow the priority order of :attr:`Context.cands`. A choice with one value (age band,
    gender, organisation, digital pool, rules) is a number per person (``gender``, ``org``,
    ``dpool``, ``rules``) that indexes a list of the values (``genders``, ``orgs``,
    ``dpools``, ``rules_of``); ``gender`` is -1 for no gender and ``dpool`` -1 for people who
    do not welcome a digital group. A choice with several values is a list per person, stored
    flat: person ``ci``'s themes are ``theme_val[theme_ptr[ci]:theme_ptr[ci + 1]]`` in
    preference order, languages (``lang_*``) in the order of ``langs`` (sorted), slots
    (``slot_*``) in the order of ``slots`` (week order); ``slot_tab`` is the table person x
    slot. The cross-problem "theme" has the code ``len(themes)``.

    Facilitators: ``fac_val[fac_ptr[k]:fac_ptr[k + 1]]`` are :attr:`Context.fac_index` of key
    ``k = ((digital * len(orgs) + org) * n_slugs + slug[theme]) * len(langs) + lang`` and
    ``any_val[any_ptr[k]:any_ptr[k + 1]]`` :attr:`Context.digital_facs` of ``k = slug[theme] *
    len(langs) + lang``, in preference order; ``fac_rank`` is each facilitator's place in that
    order. ``rule_sizes`` holds per rules (min, target, max size, age span, and the two
    :meth:`Context.cutoffs`).
    """

    __slots__ = (
        "age",
        "any_ptr",
        "any_val",
        "cross_own",
        "dims",
        "dpool",
        "dpools",
        "fac_ptr",
        "fac_rank",
        "fac_val",
        "female",
        "gender",
        "genders",
        "lang_ptr",
        "lang_tab",
        "lang_val",
        "langs",
        "male",
        "org",
        "orgs",
        "rule_sizes",
        "rules",
        "rules_of",
        "single",
        "slot_ptr",
        "slot_tab",
        "slot_val",
        "slots",
        "slug",
        "star",
        "theme_ptr",
        "theme_val",
        "themes",
        "uniform",
        "welcome",
    )

    def __init__(self, ctx: Context) -> None:
        # Read in the order given (see Context.__init__), then put in priority order.
        given = ctx._given
        perm = np.array(ctx._perm, dtype=np.int64)
        n = len(given)
        self.age = np.array(ctx.age, dtype=np.int64)
        self.single = np.array(ctx.single, dtype=bool)
        self.cross_own = np.array(ctx.cross_own, dtype=bool)
        self.welcome = np.array([c.cross_problem_welcome for c in given], dtype=bool)[perm]
        # Themes in each person's order of preference.
        theme_sets = [c.themes for c in given]
        self.themes = sorted({t for s in theme_sets for t in s})
        col = {v: j for j, v in enumerate(self.themes)}
        self.theme_ptr, self.theme_val = _lists(
            theme_sets, [col[t] for s in theme_sets for t in s], perm
        )
        self.lang_tab, self.langs = _table([c.languages for c in given], perm, sorted)
        self.lang_ptr, self.lang_val = _rows(self.lang_tab)
        self.slot_tab, self.slots = _table([c.slots for c in given], perm, sorted_slots)
        self.slot_ptr, self.slot_val = _rows(self.slot_tab)
        gender_of: dict[str | None, int] = {None: -1}
        for g in ctx.gender:
            if g not in gender_of:
                gender_of[g] = len(gender_of) - 1
        self.genders: list[str] = [g for g in gender_of if g is not None]
        self.gender = np.fromiter(map(gender_of.__getitem__, ctx.gender), np.int64, n)
        self.female = gender_of.get("female", -1)
        self.male = gender_of.get("male", -1)
        org_of: dict[str, int] = {}
        for o in ctx.org:
            if o not in org_of:
                org_of[o] = len(org_of)
        self.orgs: list[str] = list(org_of)
        self.org = np.fromiter(map(org_of.__getitem__, ctx.org), np.int64, n)
        # Digital pool and rules depend on the organisation only (see Context.dpool).
        self.dpools: list[str] = []
        self.rules_of: list[Rules] = []
        dpool_of_org, rules_of_org = [], []
        first = dict.fromkeys(range(len(self.orgs)), -1)
        for ci, o in enumerate(self.org.tolist()):
            if first[o] < 0:
                first[o] = ci
        for org, ci in zip(self.orgs, first.values(), strict=True):
            r = ctx.own_rules[ci]
            dp = "digital:*" if r.pool_digital_across_catchments else "digital:" + org
            if dp not in self.dpools:
                self.dpools.append(dp)
            dpool_of_org.append(self.dpools.index(dp))
            k = next((i for i, x in enumerate(self.rules_of) if x is r), None)
            if k is None:
                k = len(self.rules_of)
                self.rules_of.append(r)
            rules_of_org.append(k)
        self.star = np.array([dp == "digital:*" for dp in self.dpools] or [False], dtype=bool)
        digital = np.array([c.digital_welcome for c in given], dtype=bool)[perm]
        self.dpool = np.where(digital, np.array(dpool_of_org, dtype=np.int64)[self.org], -1)
        self.rules = np.array(rules_of_org, dtype=np.int64)[self.org]
        self.uniform = ctx.uniform_rules
        self.rule_sizes = np.array(
            [
                (r.min_size, r.target_size, r.max_size, r.max_age_span, *ctx.cutoffs(r))
                for r in self.rules_of
            ]
            or [(0, 0, 0, 0, 0, 0)],
            dtype=np.int64,
        )
        self._facilitators(ctx)

    def _facilitators(self, ctx: Context) -> None:
        n_themes, n_langs, n_orgs = len(self.themes), len(self.langs), len(self.orgs)
        slug_of = {t: j for j, t in enumerate(self.themes)}
        n_slugs = n_themes + (ACROSS not in slug_of)
        slug_of.setdefault(ACROSS, n_themes)
        self.slug = np.array([*range(n_themes), slug_of[ACROSS]], dtype=np.int64)
        lang_of = {v: j for j, v in enumerate(self.langs)}
        org_of = {o: j for j, o in enumerate(self.orgs)}
        n_pools = max(n_orgs, len(self.dpools))
        self.dims = np.array([n_themes, n_langs, n_pools, n_slugs, n_orgs, len(self.slots)])
        lists: dict[int, list[int]] = {}
        for (dig, org, theme, lang), facs in ctx.fac_index.items():
            if org in org_of and theme in slug_of and lang in lang_of and facs:
                key = ((int(dig) * n_orgs + org_of[org]) * n_slugs + slug_of[theme]) * n_langs
                lists[key + lang_of[lang]] = facs
        self.fac_ptr, self.fac_val = _csr(lists, 2 * n_orgs * n_slugs * n_langs)
        lists = {}
        for (theme, lang), facs in ctx.digital_facs.items():
            if theme in slug_of and lang in lang_of and facs:
                lists[slug_of[theme] * n_langs + lang_of[lang]] = facs
        self.any_ptr, self.any_val = _csr(lists, n_slugs * n_langs)
        order = sorted(
            range(len(ctx.facs)),
            key=lambda i: (len(ctx.facs[i].themes) * len(ctx.facs[i].languages), ctx.facs[i].id),
        )
        self.fac_rank = np.zeros(max(len(order), 1), dtype=np.int64)
        self.fac_rank[order] = np.arange(len(order))


def _csr(
    lists: dict[int, list[int]], size: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``lists`` (key -> values, keys below ``size``) as offsets and flat values."""
    counts = np.zeros(size + 1, dtype=np.int64)
    for k, v in lists.items():
        counts[k + 1] = len(v)
    ptr = np.cumsum(counts)
    val = np.zeros(max(int(ptr[-1]), 1), dtype=np.int64)
    for k, v in lists.items():
        val[ptr[k] : ptr[k + 1]] = v
    return ptr, val


def _lists(
    rows: Sequence[Sequence[str]], flat: list[int], perm: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Lists per person (``flat``: the codes of ``rows`` one after the other) as offsets and
    flat values, the rows taken in the order ``perm``."""
    counts = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    starts = np.concatenate(([0], np.cumsum(counts)))
    counts_p = counts[perm]
    ptr = np.concatenate(([0], np.cumsum(counts_p))).astype(np.int64)
    at = np.repeat(starts[:-1][perm] - ptr[:-1], counts_p) + np.arange(ptr[-1], dtype=np.int64)
    val = np.array(flat, dtype=np.int64)[at] if len(flat) else np.zeros(1, dtype=np.int64)
    return ptr, val


def _rows(tab: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The columns set in each row of ``tab``, ascending, as offsets and flat values."""
    rows, cols = np.nonzero(tab)
    ptr = np.zeros(tab.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=tab.shape[0]), out=ptr[1:])
    return ptr, cols.astype(np.int64) if cols.size else np.zeros(1, dtype=np.int64)


def _table(
    sets: Sequence[tuple[str, ...] | frozenset[str]],
    perm: npt.NDArray[np.int64],
    ordered: Callable[[set[str]], list[str]],
) -> tuple[npt.NDArray[np.bool_], list[str]]:
    """(table person x value: whether the person's set holds it, values in the order
    ``ordered`` gives them); the rows of ``sets`` are taken in the order ``perm``."""
    flat = [v for s in sets for v in s]
    values = ordered(set(flat))
    col = {v: j for j, v in enumerate(values)}
    tab = np.zeros((len(sets), max(len(values), 1)), dtype=bool)
    counts = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
    rows = np.repeat(np.arange(len(sets)), counts)
    tab[rows, np.fromiter(map(col.__getitem__, flat), dtype=np.int64, count=len(flat))] = True
    return tab[perm], values


def best_window(ctx: Context, seed: int, others: list[int], span: int) -> list[int]:
    """The largest subset of ``others`` whose ages fit one span together with ``seed``.

    Ties go to the lowest window, which is deterministic; ``others`` keeps its order. The result
    may be ``others`` itself; callers must not change it.
    """
    if not others:
        return []
    age = ctx.age
    a = age[seed]
    # The ages sorted once; a window is then counted with two binary searches (a country-wide
    # run asks this tens of thousands of times, for up to ten people each).
    ages = sorted([age[o] for o in others])
    if max(ages[-1], a) - min(ages[0], a) <= span:
        return others  # the lowest window already holds everyone
    best_lo, best_n = a, -1
    # Windows holding the seed that start at somebody's age, or at the seed's; lowest first.
    for lo in [*dict.fromkeys([x for x in ages if a - span <= x < a]), a]:
        n = bisect_right(ages, lo + span) - bisect_left(ages, lo)
        if n > best_n:
            best_lo, best_n = lo, n
    if best_n <= 0:
        return []
    hi = best_lo + span
    return [o for o in others if best_lo <= age[o] <= hi]
