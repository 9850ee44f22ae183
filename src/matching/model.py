"""Value types of the pure matching core: who waits, who can start a group, and the plan.

Everything here is a frozen dataclass or an enum so that a plan can be compared, hashed in
tests and handed from the batching job to the notifier without anyone mutating it on the way.
Nothing in this module (or anywhere in the core) reads a clock, a database or a random source:
time arrives as ``now=`` and configuration as :class:`RuleBook`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol

Gender = Literal["female", "male", "other"]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_PARTS: tuple[str, ...] = ("morning", "daytime", "evening")
#: Every meeting slot in canonical order (Monday morning first); used for deterministic choices.
ALL_SLOTS: tuple[str, ...] = tuple(f"{d}-{p}" for d in WEEKDAYS for p in DAY_PARTS)
#: Lower bounds of the 5-year age bands; 78 means "78 or older".
AGE_BANDS: tuple[int, ...] = tuple(range(18, 79, 5))
#: Facilitator theme slug meaning "starts groups across problems" (på tvers av problemer).
ACROSS = "across"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One person's waiting interest, reduced to what matching needs (no contact data).

    ``same_gender`` only has an effect when ``gender`` is given; see :attr:`wants_single_gender`.
    """

    id: str
    organisation: str
    municipality: str
    themes: tuple[str, ...]
    cross_problem_welcome: bool
    age_band: int
    gender: Gender | None
    same_gender: bool
    languages: frozenset[str]
    slots: frozenset[str]
    digital_welcome: bool
    waiting_since: datetime

    @property
    def wants_single_gender(self) -> bool:
        """A single-gender wish without a stated gender cannot be honoured, so it is ignored."""
        return self.same_gender and self.gender is not None

    def waited(self, now: datetime) -> timedelta:
        """How long the person has waited at ``now`` (never negative)."""
        return max(now - self.waiting_since, timedelta(0))


@dataclass(frozen=True, slots=True)
class Facilitator:
    """An igangsetter who can start groups; ``free_starts`` is their capacity right now."""

    id: str
    organisation: str
    themes: frozenset[str]
    languages: frozenset[str]
    free_starts: int
    digital: bool

    def can_start(self, theme: str | None, language: str) -> bool:
        """Theme ``None`` (a cross-problem group) needs the special ``"across"`` slug."""
        wanted = ACROSS if theme is None else theme
        return wanted in self.themes and language in self.languages


@dataclass(frozen=True, slots=True)
class Rules:
    """Group rules of one organisation; defaults follow DOMAIN.md's recommendations.

    Attributes:
        min_size: Smallest group proposed; smaller groups tend to fall apart.
        target_size: The size aimed for; the objective prefers sizes near it.
        max_size: Largest group proposed.
        max_age_span: Years between the lowest and highest age band lower bound in a group.
        cross_problem_after_days: After this long a person who welcomes a cross-problem group
            may be put in one; before that we keep trying for their own theme. 7 days since
            issue 13 (it was 21): the simulator places more people within 4 weeks with it and
            no fewer overall (docs/matching.md, "The cross-problem wait").
        min_size_after_days: A group of exactly ``min_size`` is only proposed when one of its
            members has waited this long; until then we wait for a fifth person, because groups
            of four are fragile. ``bench/simulate.py`` measures the trade-off.
        pool_digital_across_catchments: Whether this organisation's people may join digital
            groups with people from other catchments.
        below_target_after_days: A group below ``target_size`` is only proposed when one of
            its members has waited this long; until then we wait for more people. ``0`` (the
            default) proposes it at once: a proposed group keeps filling until its first
            meeting (:mod:`matching.fill`), which the simulator found better than holding it
            back (docs/matching.md, "Groups fill until they meet").
        seed: Reserved for tie-breaking randomness. The algorithm breaks ties by waiting time
            and id, so it needs none today; the field keeps plans reproducible if that changes.
    """

    min_size: int = 4
    target_size: int = 6
    max_size: int = 8
    max_age_span: int = 15
    cross_problem_after_days: int = 7
    min_size_after_days: int = 28
    pool_digital_across_catchments: bool = True
    seed: int = 0
    below_target_after_days: int = 0

    def __repr__(self) -> str:
        # The repr from before ``below_target_after_days`` existed, with it only when set:
        # recorded plan fingerprints hash the rules on every proposal.
        extra = (
            f", below_target_after_days={self.below_target_after_days!r}"
            if self.below_target_after_days
            else ""
        )
        return (
            f"Rules(min_size={self.min_size!r}, target_size={self.target_size!r}, "
            f"max_size={self.max_size!r}, max_age_span={self.max_age_span!r}, "
            f"cross_problem_after_days={self.cross_problem_after_days!r}, "
            f"min_size_after_days={self.min_size_after_days!r}, "
            f"pool_digital_across_catchments={self.pool_digital_across_catchments!r}, "
            f"seed={self.seed!r}{extra})"
        )

    def __post_init__(self) -> None:
        if not 2 <= self.min_size <= self.target_size <= self.max_size:
            raise ValueError("need 2 <= min_size <= target_size <= max_size")
        if self.max_age_span < 0 or self.cross_problem_after_days < 0:
            raise ValueError("age span and day counts must not be negative")
        if self.min_size_after_days < 0 or self.below_target_after_days < 0:
            raise ValueError("min_size_after_days and below_target_after_days must not be negative")


@dataclass(frozen=True)
class RuleBook:
    """Default rules plus per-organisation overrides (organisation id -> rules)."""

    default: Rules = field(default_factory=Rules)
    overrides: Mapping[str, Rules] = field(default_factory=dict)

    def for_org(self, organisation: str) -> Rules:
        """The rules that apply to groups of ``organisation``."""
        return self.overrides.get(organisation, self.default)


@dataclass(frozen=True, slots=True)
class GroupProposal:
    """A group the facilitator is asked to start.

    ``members`` are ordered longest-waiting first. For a digital group ``organisation`` is the
    organisation whose rules applied (one of the members' organisations).
    """

    members: tuple[str, ...]
    organisation: str
    theme: str | None
    language: str
    slot: str
    digital: bool
    facilitator: str
    rules: Rules


class ReasonKind(StrEnum):
    """Why a person was not placed in this run."""

    NO_CHOICES = "no_choices"
    """No language, no meeting slot, or no theme and cross-problem not (yet) possible."""
    TOO_FEW = "too_few"
    """Fewer compatible people wait than a group needs."""
    WAITING_FOR_FIFTH = "waiting_for_fifth"
    """Exactly ``min_size`` could meet, but nobody has waited ``min_size_after_days`` yet."""
    NO_FACILITATOR = "no_facilitator"
    """Enough people, but no facilitator with capacity, theme and language."""
    NOT_THIS_RUN = "not_this_run"
    """A group looks possible but the heuristic did not form it; the next run will retry."""


@dataclass(frozen=True, slots=True)
class Reason:
    """Structured reason; ``explain.py`` turns it into words.

    Attributes:
        kind: The reason.
        organisation: Organisation of the best option found (the person's own for local).
        theme: Theme of the best option; ``None`` for cross-problem or when none exists.
        others: Compatible other people waiting for that option.
        needed: Group size needed (``min_size``) for that option.
        cross_problem_welcome: Copied from the person, because the wording mentions it.
        digital: Whether the best option is a digital group.
        days_left: For ``WAITING_FOR_FIFTH``: days until a group of ``min_size`` is proposed.
    """

    kind: ReasonKind
    organisation: str
    theme: str | None
    others: int
    needed: int
    cross_problem_welcome: bool
    digital: bool = False
    days_left: int = 0


class SuggestionKind(StrEnum):
    """A change in the person's own choices, smallest first (the order of the ranking)."""

    ADD_SLOT = "add_slot"
    WELCOME_DIGITAL = "welcome_digital"
    ADD_LANGUAGE = "add_language"
    WELCOME_CROSS_PROBLEM = "welcome_cross_problem"


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One change in the person's own choices that would place them.

    ``value`` is a slot for ``ADD_SLOT``, a language code for ``ADD_LANGUAGE``, else None.
    ``soon`` is False when a group could be proposed with the change at the next run, True when
    one would follow within days without anybody else changing anything: the group would have
    exactly the minimum size and nobody in it has waited long enough yet, or the person has not
    waited long enough for a cross-problem group yet.
    """

    kind: SuggestionKind
    value: str | None = None
    soon: bool = False

    def __repr__(self) -> str:
        # ``soon`` only when set: recorded plan fingerprints hash the repr of plans made before
        # the field existed, and those suggestions all place now.
        tail = ", soon=True" if self.soon else ""
        return f"Suggestion(kind={self.kind!r}, value={self.value!r}{tail})"


@dataclass(frozen=True, slots=True)
class Unplaced:
    """A waiting person without a group in this plan, why, and what would place them.

    Attributes:
        candidate: The person's id.
        reason: Why they wait (their option closest to a group).
        suggestion: The first of ``suggestions`` if it places the person *now*, else None —
            what the one-line explanation says, and what callers from before the list read.
        suggestions: Every single change in the person's own choices that would place them now
            or soon, best first: the ones that place now before the ones that place soon, then
            the smallest change first (a meeting slot, a digital group, a language, a
            cross-problem group; slots in week order, Norwegian and English before other
            languages). Built with only ``suggestion``, the list is that one suggestion.
    """

    candidate: str
    reason: Reason
    suggestion: Suggestion | None
    suggestions: tuple[Suggestion, ...] = ()

    def __post_init__(self) -> None:
        if not self.suggestions and self.suggestion is not None:
            object.__setattr__(self, "suggestions", (self.suggestion,))

    def __repr__(self) -> str:
        # The list is left out on purpose: recorded plan fingerprints (and the scale benchmark's
        # comparison with the core before the list existed) hash this repr. ``suggestion`` is
        # unchanged by the list, and the list has its own tests (test_suggest_ranking.py).
        return (
            f"Unplaced(candidate={self.candidate!r}, reason={self.reason!r}, "
            f"suggestion={self.suggestion!r})"
        )


class Explainer(Protocol):
    """Reasons for the people a plan leaves waiting, worked out on demand.

    ``waiting`` is known when the plan is made; a reason costs a search over that person's
    options, and most runs are never asked about most people (see :class:`Plan`).
    """

    @property
    def waiting(self) -> tuple[str, ...]:
        """Ids of everyone left waiting, sorted."""
        ...

    def why(self, candidate: str) -> Unplaced:
        """Reason and suggestion for one waiting person (``KeyError`` for anyone else)."""
        ...


class Plan:
    """The result of one matching run; groups in formation order, unplaced sorted by id.

    The reasons of the unplaced are *lazy*: :func:`matching.algorithm.form_groups` hands in an
    :class:`Explainer`, and a person's reason is worked out the first time it is asked for
    (:meth:`why`), or everyone's at once when :attr:`unplaced` is read. Explaining everyone used
    to be two thirds of a country-wide run while the callers that need words (a status page, the
    command line's first few lines) ask about one person or a handful. The answers are the same
    either way, so equality, hashing, ``repr`` and pickling all see the full :attr:`unplaced`.
    Immutable like the other value types.
    """

    __slots__ = ("_explainer", "_unplaced", "_waiting", "groups")

    groups: tuple[GroupProposal, ...]
    _unplaced: tuple[Unplaced, ...] | None
    _waiting: tuple[str, ...] | None
    _explainer: Explainer | None

    def __init__(
        self,
        groups: tuple[GroupProposal, ...],
        unplaced: tuple[Unplaced, ...] = (),
        *,
        explainer: Explainer | None = None,
    ) -> None:
        """A plan with its unplaced given (sorted by id), or with an ``explainer`` for them."""
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "_explainer", explainer)
        object.__setattr__(self, "_unplaced", None if explainer is not None else unplaced)
        object.__setattr__(self, "_waiting", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Plan is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Plan is immutable; cannot delete {name!r}")

    @property
    def placed(self) -> frozenset[str]:
        """Ids of everyone in a group."""
        return frozenset(m for g in self.groups for m in g.members)

    @property
    def waiting(self) -> tuple[str, ...]:
        """Ids of everyone left waiting, sorted; never works out a reason."""
        if self._waiting is None:
            if self._explainer is not None:
                ids = self._explainer.waiting
            else:
                ids = tuple(u.candidate for u in self._unplaced or ())
            object.__setattr__(self, "_waiting", ids)
        return self._waiting  # type: ignore[return-value]

    def why(self, candidate: str) -> Unplaced:
        """Reason and suggestion for one waiting person, worked out only for them.

        Raises:
            KeyError: ``candidate`` is in a group or was not a candidate.
        """
        if self._unplaced is not None:
            for u in self._unplaced:
                if u.candidate == candidate:
                    return u
            raise KeyError(candidate)
        assert self._explainer is not None
        return self._explainer.why(candidate)

    @property
    def unplaced(self) -> tuple[Unplaced, ...]:
        """Everyone left waiting with reason and suggestion, sorted by id (explains them all)."""
        if self._unplaced is None:
            assert self._explainer is not None
            explainer = self._explainer
            everyone = tuple(explainer.why(cid) for cid in explainer.waiting)
            object.__setattr__(self, "_unplaced", everyone)
            object.__setattr__(self, "_explainer", None)  # frees the run's working state
        return self._unplaced  # type: ignore[return-value]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plan):
            return NotImplemented
        return self.groups == other.groups and self.unplaced == other.unplaced

    def __hash__(self) -> int:
        return hash((self.groups, self.unplaced))

    def __repr__(self) -> str:
        # The dataclass's repr, unchanged: recorded plan fingerprints hash it.
        return f"Plan(groups={self.groups!r}, unplaced={self.unplaced!r})"

    def __reduce__(self) -> tuple[type[Plan], tuple[Groups, tuple[Unplaced, ...]]]:
        return (Plan, (self.groups, self.unplaced))


Groups = tuple[GroupProposal, ...]
