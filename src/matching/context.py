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
from operator import attrgetter
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import numpy.typing as npt

from matching.model import ACROSS, ALL_SLOTS, Candidate, Facilitator, RuleBook, Rules

if TYPE_CHECKING:
    from matching.codes import Codes

SLOT_ORDER = {s: i for i, s in enumerate(ALL_SLOTS)}
_KNOWN_SLOTS = frozenset(ALL_SLOTS)
_by_age = attrgetter("age_band")
_by_same_gender = attrgetter("same_gender")
_by_welcome = attrgetter("cross_problem_welcome")
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
        """Everyone's choices as NumPy codes (built on first use; see
        :class:`matching.codes.Codes`)."""
        if self._codes is None:
            from matching.codes import Codes  # it reads this module's helpers

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
    if "\x00" in "".join(ids):  # NumPy's strings ignore trailing NULs
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
