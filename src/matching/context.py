"""Shared, precomputed view of one matching run, used by the heuristic, the exact step and the
diagnosis of unplaced people.

Candidates are held by index in *priority order* (longest-waiting first, then id). Every loop in
the core walks that order or a sorted key, so the plan never depends on the order the caller
passed things in.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter

from matching.model import ACROSS, ALL_SLOTS, Candidate, Facilitator, RuleBook, Rules

SLOT_ORDER = {s: i for i, s in enumerate(ALL_SLOTS)}
_KNOWN_SLOTS = frozenset(ALL_SLOTS)
_by_id = attrgetter("id")
_by_waiting_since = attrgetter("waiting_since")

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
        # Two stable sorts equal one sort by (waiting_since, id) and compare single attributes,
        # which is about three times faster than a tuple key on 100,000 people.
        self.cands: list[Candidate] = sorted(candidates, key=_by_id)
        self.cands.sort(key=_by_waiting_since)
        cands = self.cands
        ids = [c.id for c in cands]
        if len(set(ids)) != len(ids):
            raise ValueError("candidate ids must be unique")
        self.now = now
        self.book = book
        org_rules: dict[str, Rules] = {}
        self.own_rules: list[Rules] = [
            org_rules.get(c.organisation)
            or org_rules.setdefault(c.organisation, book.for_org(c.organisation))
            for c in cands
        ]
        #: Everyone is under the same rules object (no override applies).
        self.uniform_rules = len({id(r) for r in self.own_rules}) <= 1
        self.since: list[datetime] = [c.waiting_since for c in cands]
        # Plain per-index arrays: the hot loops read these instead of dataclass attributes.
        self.age: list[int] = [c.age_band for c in cands]
        self.org: list[str] = [c.organisation for c in cands]
        self.gender: list[str | None] = [c.gender for c in cands]
        self.single: list[bool] = [c.same_gender and c.gender is not None for c in cands]
        lang_memo: dict[frozenset[str], list[str]] = {}
        self.langs: list[list[str]] = [
            lang_memo.get(c.languages) or lang_memo.setdefault(c.languages, sorted(c.languages))
            for c in cands
        ]
        #: Each person's slots in week order, sorted when first read (only seeds and people
        #: being explained need the order; sorting 100,000 sets up front was a tenth of a run).
        self.slots = WeekOrder(cands)
        self._cuts: dict[int, tuple[Rules, tuple[int, int]]] = {}
        #: May join a cross-problem group now under their own organisation's rules.
        cross_cut = {id(r): self.cutoffs(r)[1] for r in org_rules.values()}
        self.cross_own: list[bool] = [
            c.cross_problem_welcome and ci < cross_cut[id(r)]
            for ci, (c, r) in enumerate(zip(cands, self.own_rules, strict=True))
        ]
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


def best_window(ctx: Context, seed: int, others: list[int], span: int) -> list[int]:
    """The largest subset of ``others`` whose ages fit one span together with ``seed``.

    Ties go to the lowest window, which is deterministic; ``others`` keeps its order. The result
    may be ``others`` itself; callers must not change it.
    """
    if not others:
        return []
    age = ctx.age
    a = age[seed]
    # People per age band: a window is counted over the few bands present, not the people
    # (a country-wide run asks this tens of thousands of times, for up to ten people each).
    counts: dict[int, int] = {}
    for o in others:
        x = age[o]
        counts[x] = counts.get(x, 0) + 1
    low, high = min(counts), max(counts)
    if max(high, a) - min(low, a) <= span:
        return others  # the lowest window already holds everyone
    best_lo, best_n = a, -1
    for lo in sorted({x for x in counts if a - span <= x <= a} | {a}):
        hi = lo + span
        n = 0
        for x, k in counts.items():
            if lo <= x <= hi:
                n += k
        if n > best_n:
            best_lo, best_n = lo, n
    if best_n <= 0:
        return []
    hi = best_lo + span
    return [o for o in others if best_lo <= age[o] <= hi]
