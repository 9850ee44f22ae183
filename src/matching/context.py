"""Shared, precomputed view of one matching run, used by the heuristic, the exact step and the
diagnosis of unplaced people.

Candidates are held by index in *priority order* (longest-waiting first, then id). Every loop in
the core walks that order or a sorted key, so the plan never depends on the order the caller
passed things in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from matching.model import ACROSS, ALL_SLOTS, Candidate, Facilitator, RuleBook, Rules

SLOT_ORDER = {s: i for i, s in enumerate(ALL_SLOTS)}

#: Bucket key: (pool, theme or None, language, slot). The pool is the organisation for local
#: groups and "digital:<pool>" for digital ones.
BucketKey = tuple[str, str | None, str, str]


def sorted_slots(slots: Iterable[str]) -> list[str]:
    """Slots in canonical week order; unknown strings last, alphabetically."""
    return sorted(slots, key=lambda s: (SLOT_ORDER.get(s, len(SLOT_ORDER)), s))


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
        self.cands: list[Candidate] = sorted(candidates, key=lambda c: (c.waiting_since, c.id))
        ids = [c.id for c in self.cands]
        if len(set(ids)) != len(ids):
            raise ValueError("candidate ids must be unique")
        self.now = now
        self.book = book
        self.own_rules: list[Rules] = [book.for_org(c.organisation) for c in self.cands]
        self.waited: list[timedelta] = [c.waited(now) for c in self.cands]
        self.single: list[bool] = [c.wants_single_gender for c in self.cands]
        self.langs: list[list[str]] = [sorted(c.languages) for c in self.cands]
        self.slots: list[list[str]] = [sorted_slots(c.slots) for c in self.cands]
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
        for i in order:
            f = self.facs[i]
            for theme in f.themes:
                for lang in f.languages:
                    self.fac_index[(False, f.organisation, theme, lang)].append(i)
                    if f.digital:
                        self.fac_index[(True, f.organisation, theme, lang)].append(i)

    def dpool(self, ci: int) -> str:
        """Digital pool of a candidate: national, or their own catchment if it opts out."""
        if self.own_rules[ci].pool_digital_across_catchments:
            return "digital:*"
        return "digital:" + self.cands[ci].organisation

    def themes(self, ci: int, r: Rules) -> list[tuple[str | None, int]]:
        """(theme, preference position) options; cross-problem (None) last, if allowed yet."""
        c = self.cands[ci]
        out: list[tuple[str | None, int]] = [(t, p) for p, t in enumerate(c.themes)]
        if self.cross_ok(ci, r):
            out.append((None, len(c.themes)))
        return out

    def cross_ok(self, ci: int, r: Rules) -> bool:
        """Welcomes a cross-problem group and has waited long enough under rules ``r``."""
        return self.cands[ci].cross_problem_welcome and self.waited[ci] >= timedelta(
            days=r.cross_problem_after_days
        )

    def old(self, ci: int, r: Rules) -> bool:
        """Has waited long enough that a group of minimum size may be proposed for them."""
        return self.waited[ci] >= timedelta(days=r.min_size_after_days)

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
            for theme, _ in self.themes(ci, self.own_rules[ci]):
                for lang in self.langs[ci]:
                    for slot in self.slots[ci]:
                        for pool in pools:
                            out[(pool, theme, lang, slot)].append(ci)
        return out


def best_window(ctx: Context, seed: int, others: list[int], span: int) -> list[int]:
    """The largest subset of ``others`` whose ages fit one span together with ``seed``.

    Ties go to the lowest window, which is deterministic; ``others`` keeps its order.
    """
    a = ctx.cands[seed].age_band
    if not others:
        return []
    ages = [ctx.cands[o].age_band for o in others]
    los = sorted({x for x in ages if a - span <= x <= a} | {a})
    best: list[int] = []
    for lo in los:
        hi = lo + span
        if hi < a:
            continue
        sel = [o for o, x in zip(others, ages, strict=True) if lo <= x <= hi]
        if len(sel) > len(best):
            best = sel
    return best
