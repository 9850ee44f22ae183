"""Shared, precomputed view of one matching run, used by the heuristic, the exact step and the
diagnosis of unplaced people.

Candidates are held by index in *priority order* (longest-waiting first, then id). Every loop in
the core walks that order or a sorted key, so the plan never depends on the order the caller
passed things in.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from operator import attrgetter
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from matching.model import ACROSS, ALL_SLOTS, Candidate, Facilitator, RuleBook, Rules

SLOT_ORDER = {s: i for i, s in enumerate(ALL_SLOTS)}
_KNOWN_SLOTS = frozenset(ALL_SLOTS)
_by_age = attrgetter("age_band")
_by_same_gender = attrgetter("same_gender")
_by_welcome = attrgetter("cross_problem_welcome")
_by_digital = attrgetter("digital_welcome")
_by_themes = attrgetter("themes")
_by_slots = attrgetter("slots")
_H = TypeVar("_H", bound=Hashable)
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
        n = len(given)
        ids = [c.id for c in given]
        if len(set(ids)) != n:
            raise ValueError("candidate ids must be unique")
        # Every per-person attribute is read in the order the candidates were given (usually
        # the order they were created in, so one after the other in memory: reading 100,000
        # objects in priority order, scattered over memory, took three to four times as long
        # per attribute), as NumPy codes where it pays, and then put in priority order with
        # one ``take``. ``perm[k]`` is the given position of the k-th in priority order.
        since = [c.waiting_since for c in given]
        perm = _priority(ids, since)
        self._perm = perm
        self._given = given
        self.cands: list[Candidate] = _permute(given, perm)
        self.now = now
        self.book = book
        # Numbered in sorted order, so the codes do not depend on the order given either.
        org_code, orgs = _encode([c.organisation for c in given], sorted)
        org_rules = [book.for_org(o) for o in orgs]
        org_p = org_code[perm]
        self.org: list[str] = _pick(orgs, org_p)
        self.own_rules: list[Rules] = _pick(org_rules, org_p)
        #: Everyone is under the same rules object (no override applies).
        self.uniform_rules = len({id(r) for r in org_rules}) <= 1
        self.since: list[datetime] = _permute(since, perm)
        # Plain per-index arrays: the hot loops read these instead of dataclass attributes.
        age = np.fromiter(map(_by_age, given), np.int64, n)[perm]
        self.age: list[int] = age.tolist()
        gender_given: list[str | None] = [c.gender for c in given]
        gender_code, genders = _encode(gender_given, _by_gender)
        gender_p = gender_code[perm]
        self.gender: list[str | None] = _pick(genders, gender_p)
        has_gender = np.array([g is not None for g in genders] or [False])[gender_p]
        single = np.fromiter(map(_by_same_gender, given), bool, n)[perm] & has_gender
        self.single: list[bool] = single.tolist()
        lang_code, lang_sets = _encode([c.languages for c in given])
        lang_p = lang_code[perm]
        self.langs: list[list[str]] = _pick([sorted(s) for s in lang_sets], lang_p)
        #: Each person's slots in week order, sorted when first read (only seeds and people
        #: being explained need the order; sorting 100,000 sets up front was a tenth of a run).
        self.slots = WeekOrder(self.cands)
        self._cuts: dict[int, tuple[Rules, tuple[int, int]]] = {}
        #: May join a cross-problem group now under their own organisation's rules.
        welcome = np.fromiter(map(_by_welcome, given), bool, n)[perm]
        cross_cut = np.array([self.cutoffs(r)[1] for r in org_rules] or [0], dtype=np.int64)
        cross_own = welcome & (np.arange(n) < cross_cut[org_p])
        self.cross_own: list[bool] = cross_own.tolist()
        self._raw = _Raw(
            perm=perm,
            org=org_p,
            orgs=orgs,
            org_rules=org_rules,
            age=age,
            gender=gender_p,
            genders=genders,
            single=single,
            welcome=welcome,
            cross_own=cross_own,
            lang=lang_p,
            lang_sets=lang_sets,
        )
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
        return _permute(values, self._perm)

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


def _priority(ids: list[str], since: list[datetime]) -> npt.NDArray[np.int64]:
    """Given positions in priority order: by ``since``, then by id.

    The times are numbered by rank first (a few thousand distinct ones: sign-ups are counted
    in hours), so NumPy sorts numbers and strings, not Python objects.
    """
    distinct = sorted(set(since))
    rank = {d: i for i, d in enumerate(distinct)}
    when = np.fromiter(map(rank.__getitem__, since), np.int64, len(since))
    if any("\x00" in i for i in ids):  # NumPy's strings ignore trailing NULs
        return np.array(sorted(range(len(ids)), key=lambda i: (when[i], ids[i])), dtype=np.int64)
    return np.lexsort((np.array(ids, dtype=str), when)).astype(np.int64)


def _encode(
    values: list[_H], order: Callable[[Iterable[_H]], list[_H]] = list
) -> tuple[npt.NDArray[np.int64], list[_H]]:
    """(number of each value, the distinct values by number): in the order ``order`` gives
    them, by default in order of first use."""
    distinct = order(dict.fromkeys(values))
    number = {v: i for i, v in enumerate(distinct)}
    return np.fromiter(map(number.__getitem__, values), np.int64, len(values)), distinct


def _by_gender(genders: Iterable[str | None]) -> list[str | None]:
    """Genders sorted, no gender first."""
    return sorted(genders, key=lambda g: (g is not None, g or ""))


def _pick(values: Sequence[_T], codes: npt.NDArray[np.int64]) -> list[_T]:
    """``values[k]`` for each ``k`` of ``codes`` (``values`` are few, shared)."""
    return [values[k] for k in codes.tolist()]


def _permute(values: Sequence[_T], perm: npt.NDArray[np.int64]) -> list[_T]:
    """``values`` (none of them a sequence) in the order ``perm``."""
    out: list[_T] = np.fromiter(values, dtype=object, count=len(values))[perm].tolist()
    return out


@dataclass(slots=True)
class _Raw:
    """What :class:`Context` read for :class:`Codes`, all in priority order (NumPy codes of
    organisation, gender and language set, with the values they number)."""

    perm: npt.NDArray[np.int64]
    org: npt.NDArray[np.int64]
    orgs: list[str]
    org_rules: list[Rules]
    age: npt.NDArray[np.int64]
    gender: npt.NDArray[np.int64]
    genders: Sequence[str | None]
    single: npt.NDArray[np.bool_]
    welcome: npt.NDArray[np.bool_]
    cross_own: npt.NDArray[np.bool_]
    lang: npt.NDArray[np.int64]
    lang_sets: list[frozenset[str]]


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
    (``slot_*``) in the order of ``slots`` (week order). The cross-problem "theme" has the
    code ``len(themes)``; ``dims`` holds the numbers of themes, languages, pools (organisations
    or digital pools, whichever are more), theme slugs, organisations and slots.

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
        raw = ctx._raw
        given, perm = ctx._given, raw.perm
        n = len(given)
        self.age = raw.age
        self.single = raw.single
        self.cross_own = raw.cross_own
        self.welcome = raw.welcome
        # Choices with several values, read as one flat list of values (hashing 100,000
        # tuples or sets to number the distinct ones cost more).
        theme_sets = list(map(_by_themes, given))
        flat = list(chain.from_iterable(theme_sets))
        self.themes = sorted(set(flat))
        col = {v: j for j, v in enumerate(self.themes)}
        self.theme_ptr, self.theme_val = _lists(
            np.fromiter(map(len, theme_sets), np.int64, n),
            np.fromiter(map(col.__getitem__, flat), np.int64, len(flat)),
            perm,
        )
        self.langs = sorted({v for s in raw.lang_sets for v in s})
        col = {v: j for j, v in enumerate(self.langs)}
        self.lang_ptr, self.lang_val = _expand(
            [sorted(col[v] for v in s) for s in raw.lang_sets], raw.lang
        )
        slot_sets = list(map(_by_slots, given))
        flat = list(chain.from_iterable(slot_sets))
        self.slots = sorted_slots(set(flat))
        col = {v: j for j, v in enumerate(self.slots)}
        counts = np.fromiter(map(len, slot_sets), np.int64, n)
        codes = np.fromiter(map(col.__getitem__, flat), np.int64, len(flat))
        if len(self.slots) <= 62:
            # Each person's slots in week order (the order of ``slots``): as bits of one
            # number per person, read back lowest bit first.
            starts = np.zeros(n, dtype=np.int64)
            np.cumsum(counts[:-1], out=starts[1:])
            masks = np.zeros(n, dtype=np.int64)
            some = counts > 0
            if codes.size:
                masks[some] = np.bitwise_or.reduceat(np.left_shift(1, codes), starts[some])
            bits = np.arange(len(self.slots), dtype=np.int64)
            rows, cols = np.nonzero((masks[perm][:, None] >> bits) & 1)
            self.slot_ptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=n), out=self.slot_ptr[1:])
            self.slot_val = cols.astype(np.int64)
        else:
            self.slot_ptr, self.slot_val = _lists(counts, codes, perm)
            rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(self.slot_ptr))
            self.slot_val = self.slot_val[np.lexsort((self.slot_val, rows))]
        self.genders: list[str] = [g for g in raw.genders if g is not None]
        number = {g: j for j, g in enumerate(self.genders)}
        self.gender = np.array(
            [number.get(g, -1) if g is not None else -1 for g in raw.genders] or [-1],
            dtype=np.int64,
        )[raw.gender]
        self.female = number.get("female", -1)
        self.male = number.get("male", -1)
        self.orgs: list[str] = raw.orgs
        self.org = raw.org
        # Digital pool and rules depend on the organisation only (see Context.dpool).
        self.dpools: list[str] = []
        self.rules_of: list[Rules] = []
        dpool_of_org, rules_of_org = [], []
        for org, r in zip(raw.orgs, raw.org_rules, strict=True):
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
        digital = np.fromiter(map(_by_digital, given), bool, n)[perm]
        self.dpool = np.where(digital, np.array(dpool_of_org or [0], dtype=np.int64)[self.org], -1)
        self.rules = np.array(rules_of_org or [0], dtype=np.int64)[self.org]
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
    counts: npt.NDArray[np.int64], flat: npt.NDArray[np.int64], perm: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Lists given one after the other (``counts[i]`` values of ``flat`` for person ``i``) as
    offsets and flat values, the people taken in the order ``perm``."""
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    taken = counts[perm]
    ptr = np.zeros(len(perm) + 1, dtype=np.int64)
    np.cumsum(taken, out=ptr[1:])
    at = np.repeat(starts[perm] - ptr[:-1], taken) + np.arange(ptr[-1], dtype=np.int64)
    return ptr, flat[at]


def _expand(
    rows: list[list[int]], codes: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Offsets and flat values of the lists ``rows[k]`` for each ``k`` of ``codes``."""
    lens = np.array([len(r) for r in rows] or [0], dtype=np.int64)
    flat = np.array([v for r in rows for v in r] or [0], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lens)[:-1])).astype(np.int64)
    counts = lens[codes]
    ptr = np.zeros(len(codes) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    at = np.repeat(starts[codes] - ptr[:-1], counts) + np.arange(ptr[-1], dtype=np.int64)
    return ptr, flat[at]


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
