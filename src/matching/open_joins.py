"""Changes of choices that would let a waiting person join an open group (issue 13).

A group that has not met yet takes newcomers at the next run (:func:`matching.fill.fill_groups`);
this wraps a plan's reasons so that a person is also offered the single change that would let
the fill take them. Split from :mod:`matching.diagnose`, whose ranking (:func:`rank_key`) it
shares. Pure, like the rest of the core.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from matching.diagnose import rank_key
from matching.fill import OpenGroup, admits
from matching.model import (
    Candidate,
    Explainer,
    Plan,
    ReasonKind,
    RuleBook,
    Suggestion,
    SuggestionKind,
    Unplaced,
)

#: The pool key of digital open groups in :class:`OpenGroupJoins`' index (catchment pooling is
#: left to :func:`matching.fill.admits`).
_DIGITAL = "\0digital"


class OpenGroupJoins:
    """Reasons of a plan, with the changes that would let a person join an open group added.

    Implements :class:`matching.model.Explainer` on top of another one (a :class:`Plan`). A
    change of choices is offered (``soon=False``: the fill at the next run takes them) when the
    changed person would be accepted into one of ``groups`` by the fill's own rule check,
    :func:`matching.fill.admits` — still open at ``now``, below its maximum, not a group they
    left, and every rule a new group obeys. The groups are indexed by (organisation or the
    digital pool, theme, language, slot) on the first question, and a person has only a few
    changes, so each answer looks at a handful of groups. Nothing is offered while the person's
    own reason is ``not_this_run`` (a group already looks possible), as for the other
    suggestions. Who else might take the last place first is not modelled.
    """

    def __init__(
        self,
        base: Explainer,
        people: Iterable[Candidate],
        groups: Sequence[OpenGroup],
        book: RuleBook,
        *,
        now: datetime,
    ) -> None:
        self._base = base
        self._people = people
        self._groups = groups
        self._book = book
        self._now = now
        self._by_id: dict[str, Candidate] | None = None
        self._answers: dict[str, Unplaced] = {}

    @property
    def waiting(self) -> tuple[str, ...]:
        return self._base.waiting

    def why(self, candidate: str) -> Unplaced:
        found = self._answers.get(candidate)
        if found is None:
            found = self._answers[candidate] = self._work_out(candidate)
        return found

    def _prepare(self) -> dict[str, Candidate]:
        self._by_id = {c.id: c for c in self._people}
        self._index: dict[tuple[str, str | None, str, str], list[OpenGroup]] = {}
        self._slots: dict[tuple[str, str | None, str], set[str]] = {}
        self._langs: dict[tuple[str, str | None], set[str]] = {}
        for g in sorted(self._groups, key=lambda g: g.id):
            if not g.open_at(self._now) or len(g.members) >= g.rules.max_size:
                continue
            pool = _DIGITAL if g.digital else g.organisation
            self._index.setdefault((pool, g.theme, g.language, g.slot), []).append(g)
            self._slots.setdefault((pool, g.theme, g.language), set()).add(g.slot)
            self._langs.setdefault((pool, g.theme), set()).add(g.language)
        return self._by_id

    def _work_out(self, candidate: str) -> Unplaced:
        base = self._base.why(candidate)
        by_id = self._by_id if self._by_id is not None else self._prepare()
        if base.reason.kind is ReasonKind.NOT_THIS_RUN or not self._index:
            return base
        extra = self.joins(by_id[candidate])
        have = {(s.kind, s.value): s.soon for s in base.suggestions}
        if all(have.get(k) is False for k in extra):
            return base
        for k in extra:
            have[k] = False
        ranked = tuple(
            sorted((Suggestion(k, v, soon) for (k, v), soon in have.items()), key=rank_key)
        )
        first = ranked[0] if not ranked[0].soon else None
        return Unplaced(base.candidate, base.reason, first, ranked)

    def joins(self, c: Candidate) -> list[tuple[SuggestionKind, str | None]]:
        """Every single change of ``c``'s choices after which an open group admits them."""
        out: list[tuple[SuggestionKind, str | None]] = []
        themes: list[str | None] = [*c.themes, None] if c.cross_problem_welcome else [*c.themes]
        pools = [c.organisation, _DIGITAL] if c.digital_welcome else [c.organisation]
        slots = sorted(c.slots)
        langs = sorted(c.languages)
        more_slots = sorted(
            {
                s
                for p in pools
                for t in themes
                for lang in langs
                for s in self._slots.get((p, t, lang), ())
            }
            - c.slots
        )
        for slot in more_slots:
            changed = replace(c, slots=c.slots | {slot})
            if self._admitted(changed, pools, themes, langs, [slot]):
                out.append((SuggestionKind.ADD_SLOT, slot))
        if not c.digital_welcome:
            changed = replace(c, digital_welcome=True)
            if self._admitted(changed, [_DIGITAL], themes, langs, slots):
                out.append((SuggestionKind.WELCOME_DIGITAL, None))
        more_langs = sorted(
            {lang for p in pools for t in themes for lang in self._langs.get((p, t), ())}
            - c.languages
        )
        for lang in more_langs:
            changed = replace(c, languages=c.languages | {lang})
            if self._admitted(changed, pools, themes, [lang], slots):
                out.append((SuggestionKind.ADD_LANGUAGE, lang))
        if not c.cross_problem_welcome:
            changed = replace(c, cross_problem_welcome=True)
            if self._admitted(changed, pools, [None], langs, slots):
                out.append((SuggestionKind.WELCOME_CROSS_PROBLEM, None))
        return out

    def _admitted(
        self,
        c: Candidate,
        pools: list[str],
        themes: list[str | None],
        langs: list[str],
        slots: list[str],
    ) -> bool:
        for pool in pools:
            for theme in themes:
                for lang in langs:
                    for slot in slots:
                        for g in self._index.get((pool, theme, lang, slot), ()):
                            if admits(c, g, g.members, self._book, self._now):
                                return True
        return False


def with_open_groups(
    plan: Plan,
    people: Iterable[Candidate],
    groups: Sequence[OpenGroup],
    book: RuleBook,
    *,
    now: datetime,
) -> Plan:
    """``plan`` whose waiting people are also offered the changes that would let them join one
    of ``groups`` (:class:`OpenGroupJoins`; lazy like the plan's own reasons).

    ``people`` are the candidates ``plan`` was formed from; ``groups`` the open groups as the
    next run will see them (:func:`matching.fill.after_run`), and ``now`` the time of that run.
    Without a group open at ``now`` below its maximum, ``plan`` itself is returned: runs
    without open groups keep their reasons, suggestions and fingerprints exactly.
    """
    if not any(g.open_at(now) and len(g.members) < g.rules.max_size for g in groups):
        return plan
    return Plan(plan.groups, explainer=OpenGroupJoins(plan, people, groups, book, now=now))
