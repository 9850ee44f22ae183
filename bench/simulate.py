"""A year of synthetic sign-ups for all of Norway, run week by week through ``form_groups``.

Run: ``.venv/bin/python bench/simulate.py [--seed 7] [--weeks 52]``

Assumptions (documented in docs/matching.md, all synthetic, none measured):

* Arrivals: every municipality in ``db/reference/kommuner_2024.csv`` gets a Poisson number of
  sign-ups per week with mean population / 2,000 / 52 (about one sign-up per 2,000 inhabitants a
  year, ~2,800 a year nationally).
* Catchments: the seven LINK centres named in DOMAIN.md (LINK Bergen og omegn covers Bergen and
  five neighbours; LINK Vestfold og Telemark both counties), a LINK-like centre for every other
  municipality over 60,000 people, and county contact points that cover the remaining small
  municipalities, clustered within 50 km of the largest unassigned one.
* People: themes, age, gender, languages, slots and openness as in :data:`THEMES` etc. below.
* Facilitators: one per 40,000 inhabitants of a catchment (at least one), each able to run two
  starts at a time; a start keeps the facilitator busy for 6 weeks (first meetings + follow-up).
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from groups.timing import LifecycleConfig  # noqa: E402
from matching.algorithm import form_groups  # noqa: E402
from matching.check import fill_violations, violations  # noqa: E402
from matching.fill import OpenGroup, Seated, fill_groups, seated  # noqa: E402
from matching.model import (  # noqa: E402
    ACROSS,
    AGE_BANDS,
    ALL_SLOTS,
    WEEKDAYS,
    Candidate,
    Facilitator,
    GroupProposal,
    Plan,
    Reason,
    ReasonKind,
    RuleBook,
    Rules,
    Suggestion,
    SuggestionKind,
    Unplaced,
)
from matching.open_joins import with_open_groups  # noqa: E402
from matching.service import FILL_CLOSES_BEFORE_FIRST_MEETING  # noqa: E402

START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # a Monday
THEMES = {  # first-choice share, from the themes DOMAIN.md lists; guessed weights
    "angst": 18,
    "depresjon": 16,
    "sorg": 12,
    "ensomhet": 10,
    "samlivsbrudd": 8,
    "parorende": 8,
    "utbrenthet": 6,
    "kronisk-sykdom": 6,
    "kreft": 4,
    "stress": 4,
    "rus": 3,
    "smerte": 3,
    "spiseforstyrrelser": 2,
}
AGE_WEIGHTS = [6, 9, 11, 12, 12, 11, 10, 9, 7, 5, 4, 3, 1]  # per band 18..78
OTHER_LANGS = {"en": 30, "ar": 15, "pl": 15, "uk": 15, "es": 10, "so": 10, "ti": 5}
SLOT_WEIGHTS = {
    s: (6 if s.endswith("evening") else 3 if s.endswith("daytime") else 1)
    * (1 if s[:3] in ("sat", "sun") else 3)
    for s in ALL_SLOTS
}
LINKS = {
    "LINK Oslo": ["0301"],
    "LINK Bergen og omegn": ["4601", "4624", "4626", "4627", "4630", "4631"],
    "LINK Trondheim": ["5001"],
    "LINK Tromsø": ["5501"],
    "LINK Lillehammer": ["3405"],
    "LINK Lyngen": ["5536"],
}


@dataclass(frozen=True)
class Municipality:
    number: str
    name: str
    county: str
    population: int
    lat: float
    lon: float


def municipalities() -> list[Municipality]:
    with (ROOT / "db/reference/kommuner_2024.csv").open(encoding="utf-8") as fh:
        return [
            Municipality(
                r["kommunenummer"],
                r["kommunenavn"],
                r["fylkesnummer"],
                int(r["population"]),
                float(r["lat"]),
                float(r["lon"]),
            )
            for r in csv.DictReader(fh)
        ]


def _km(a: Municipality, b: Municipality) -> float:
    dy = (a.lat - b.lat) * 111.0
    dx = (a.lon - b.lon) * 111.0 * math.cos(math.radians((a.lat + b.lat) / 2))
    return math.hypot(dx, dy)


def catchments(munis: Sequence[Municipality]) -> dict[str, str]:
    """Municipality number -> organisation id (see module docstring)."""
    out: dict[str, str] = {}
    for org, numbers in LINKS.items():
        for n in numbers:
            out[n] = org
    for m in munis:
        if m.county in ("39", "40"):
            out[m.number] = "LINK Vestfold og Telemark"
        elif m.number not in out and m.population > 60_000:
            out[m.number] = f"Selvhjelp {m.name}"
    rest = sorted(
        (m for m in munis if m.number not in out), key=lambda m: (-m.population, m.number)
    )
    for m in rest:
        if m.number in out:
            continue
        org = f"Kontaktpunkt {m.name}"
        for other in rest:
            if other.number not in out and other.county == m.county and _km(m, other) <= 50:
                out[other.number] = org
    return out


def facilitators(
    munis: Sequence[Municipality],
    orgs: dict[str, str],
    rng: random.Random,
    per_inhabitants: int = 40_000,
) -> list[Facilitator]:
    pop: Counter[str] = Counter()
    for m in munis:
        pop[orgs[m.number]] += m.population
    out = []
    themes = list(THEMES)
    for org in sorted(pop):
        for k in range(max(1, round(pop[org] / per_inhabitants))):
            t = set(rng.sample(themes, rng.randint(3, 7))) | {ACROSS}
            langs = {"no"} | ({"en"} if rng.random() < 0.5 else set())
            if rng.random() < 0.08:
                langs.add(rng.choice(list(OTHER_LANGS)))
            out.append(
                Facilitator(
                    f"{org}#{k}", org, frozenset(t), frozenset(langs), 2, rng.random() < 0.5
                )
            )
    return out


def _pick(rng: random.Random, weights: dict[str, int], k: int) -> list[str]:
    keys = list(weights)
    chosen: list[str] = []
    while len(chosen) < k:
        c = rng.choices(keys, [weights[x] for x in keys])[0]
        if c not in chosen:
            chosen.append(c)
    return chosen


def person(cid: str, m: Municipality, org: str, when: datetime, rng: random.Random) -> Candidate:
    """One synthetic sign-up; the shares below are the simulator's documented assumptions."""
    themes = _pick(rng, THEMES, rng.choices([1, 2, 3], [50, 35, 15])[0])
    gender = rng.choices(["female", "male", "other", None], [62, 33, 2, 3])[0]
    if rng.random() < 0.92:
        langs = {"no"} | ({"en"} if rng.random() < 0.35 else set())
    else:
        langs = {rng.choices(list(OTHER_LANGS), list(OTHER_LANGS.values()))[0]}
        if rng.random() < 0.5:
            langs.add("en")
    return Candidate(
        id=cid,
        organisation=org,
        municipality=m.number,
        themes=tuple(themes),
        cross_problem_welcome=rng.random() < 0.6,
        age_band=rng.choices(AGE_BANDS, AGE_WEIGHTS)[0],
        gender=gender,  # type: ignore[arg-type]
        same_gender=gender is not None and rng.random() < 0.1,
        languages=frozenset(langs),
        slots=frozenset(_pick(rng, SLOT_WEIGHTS, rng.randint(2, 6))),
        digital_welcome=rng.random() < 0.4,
        waiting_since=when,
    )


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def arrivals(weeks: int, seed: int, per_inhabitants: int = 2_000) -> list[list[Candidate]]:
    """Sign-ups per week, deterministic for a seed."""
    rng = random.Random(seed)
    munis = municipalities()
    orgs = catchments(munis)
    out: list[list[Candidate]] = []
    n = 0
    for w in range(weeks):
        week: list[Candidate] = []
        for m in munis:
            for _ in range(_poisson(rng, m.population / per_inhabitants / 52)):
                when = START + timedelta(weeks=w, hours=rng.randrange(0, 24 * 7))
                week.append(person(f"p{n:06d}", m, orgs[m.number], when, rng))
                n += 1
        out.append(week)
    return out


Matcher = Callable[[list[Candidate], RuleBook, datetime, list[Facilitator]], Plan]


def matcher_core(c: list[Candidate], b: RuleBook, now: datetime, f: list[Facilitator]) -> Plan:
    return form_groups(c, b, now=now, facilitators=f)


def matcher_naive(c: list[Candidate], b: RuleBook, now: datetime, f: list[Facilitator]) -> Plan:
    """Staff-style baseline: same municipality and first theme, started at target size.

    People are taken longest-waiting first while the group stays valid (shared language and
    slot, age span, gender wish); a facilitator of the organisation with capacity starts it.
    """
    left = {x.id: x.free_starts for x in f}
    buckets: dict[tuple[str, str], list[Candidate]] = {}
    for p in sorted(c, key=lambda p: (p.waiting_since, p.id)):
        if p.themes:
            buckets.setdefault((p.municipality, p.themes[0]), []).append(p)
    groups = []
    for (_, theme), people in sorted(buckets.items()):
        r = b.for_org(people[0].organisation)
        while len(people) >= r.target_size:
            g = _naive_group(people, r)
            if g is None:
                break
            lang, slot, members = g
            fac = next(
                (
                    x
                    for x in f
                    if x.organisation == members[0].organisation
                    and left[x.id]
                    and theme in x.themes
                    and lang in x.languages
                ),
                None,
            )
            if fac is None:
                break
            left[fac.id] -= 1
            groups.append(
                GroupProposal(
                    tuple(p.id for p in members),
                    members[0].organisation,
                    theme,
                    lang,
                    slot,
                    False,
                    fac.id,
                    r,
                )
            )
            people = [p for p in people if p not in members]
    placed = {m for g in groups for m in g.members}
    rest = tuple(
        Unplaced(p.id, Reason(ReasonKind.TOO_FEW, p.organisation, None, 0, 0, False), None)
        for p in c
        if p.id not in placed
    )
    return Plan(tuple(groups), rest)


def _naive_group(people: list[Candidate], r: Rules) -> tuple[str, str, list[Candidate]] | None:
    seed = people[0]
    for lang in sorted(seed.languages):
        for slot in sorted(seed.slots):
            g = [seed]
            for p in people[1:]:
                ages = [x.age_band for x in (*g, p)]
                genders = {x.gender for x in (*g, p)}
                single = {x.gender for x in (*g, p) if x.wants_single_gender}
                if (
                    lang in p.languages
                    and slot in p.slots
                    and max(ages) - min(ages) <= r.max_age_span
                    and (not single or {*genders} == single == {seed.gender})
                ):
                    g.append(p)
                if len(g) == r.target_size:
                    return lang, slot, g
    return None


@dataclass
class Setting:
    """One simulated configuration: the rules, whether open groups fill, suggestions taken."""

    name: str
    book: RuleBook = field(default_factory=RuleBook)
    fill: bool = True
    #: Share of the people offered suggestions (the first time they are) who accept one.
    accept: float = 0.0
    #: Share of people who did not welcome digital at sign-up who also refuse it when offered.
    digital_no: float = 0.5
    #: Whether a person accepting takes the first acceptable change (else any, at random).
    first: bool = False
    #: Whether suggestions also lead into open groups (``matching.open_joins.with_open_groups``).
    open_suggestions: bool = True
    #: Days from the proposal before a group proposed with fewer than ``lead_below`` may meet
    #: (``groups.timing.LifecycleConfig.fill_wait``; 0 here, as the tables measured before
    #: the rule; the facilitator is counted busy that much longer too).
    lead_days: int = 0
    lead_below: int = 5


@dataclass
class Result:
    name: str
    waits: list[float | None]  # weeks from sign-up to group, None = still waiting at the end
    sizes: Counter[int]  # size when the group was proposed
    met: Counter[int]  # size at the first meeting (after filling)
    cross: int
    digital: int
    groups: int
    violations: int
    seconds: float
    joined: int = 0  # people who joined open groups
    starts: Counter[str] = field(default_factory=Counter)  # starts per facilitator
    facilitators: int = 0
    meet_waits: list[float | None] = field(default_factory=list)  # weeks to first meeting
    asked: int = 0  # people offered suggestions
    accepted: int = 0  # of them, who accepted one
    changes: Counter[str] = field(default_factory=Counter)  # kinds accepted


@dataclass
class _Open:
    """A simulated group between proposal and first meeting."""

    id: str
    proposal: GroupProposal
    members: list[Seated]
    first_meeting: datetime
    closes_at: datetime


#: The life cycle's default: a group of four meets no earlier than this many days after it
#: was proposed (``groups.timing.LifecycleConfig.fill_wait``).
FILL_WAIT_DAYS = LifecycleConfig().fill_wait.days

#: Hour of the first meeting by part of the day (Oslo wall clock is not modelled).
_HOUR = {"morning": 10, "daytime": 13, "evening": 18}


def first_meeting(
    proposed: datetime, slot: str, key: str, seed: int, wait: timedelta = timedelta(0)
) -> datetime:
    """When a proposed group first meets, from the life cycle's defaults (docs/lifecycle.md).

    The facilitator answers within the 3-day window (uniform 0.5-3 days; declines and the
    next facilitator are not modelled); the meeting form offers the next four dates on the
    group's slot, and the facilitator takes the first one at least a week after answering
    (time to find a room and for the 72-hour invitation window), or the first one from
    ``wait`` after the proposal (a group of four: ``groups.timing.meets_from``) if later.
    """
    rng = random.Random(f"{seed}:{key}")
    answered = proposed + timedelta(days=rng.uniform(0.5, 3.0))
    earliest = max(answered + timedelta(days=7), proposed + wait)
    day, part = slot.split("-")
    when = earliest.replace(hour=_HOUR[part], minute=0, second=0, microsecond=0)
    while when < earliest or WEEKDAYS[when.weekday()] != day:
        when += timedelta(days=1)
    return when


def _shown(g: _Open) -> OpenGroup:
    """A simulated open group as the fill sees it."""
    p = g.proposal
    return OpenGroup(
        g.id, p.organisation, p.theme, p.language, p.slot, p.digital, p.rules, tuple(g.members),
        g.closes_at,
    )  # fmt: skip


def _apply(c: Candidate, s: Suggestion) -> Candidate:
    if s.kind is SuggestionKind.ADD_SLOT and s.value:
        return replace(c, slots=c.slots | {s.value})
    if s.kind is SuggestionKind.ADD_LANGUAGE and s.value:
        return replace(c, languages=c.languages | {s.value})
    if s.kind is SuggestionKind.WELCOME_DIGITAL:
        return replace(c, digital_welcome=True)
    return replace(c, cross_problem_welcome=True)


def run(
    setting: Setting,
    weekly: list[list[Candidate]],
    facs: list[Facilitator],
    cohort_weeks: int,
    *,
    busy_weeks: int = 6,
    seed: int = 7,
    match: Matcher | None = None,
    step_days: float = 7.0,
) -> Result:
    """Matching runs every ``step_days`` over ``weekly`` sign-ups (each run sees everyone who
    signed up before it).

    With ``setting.fill``, groups proposed in earlier runs take more people until
    ``FILL_CLOSES_BEFORE_FIRST_MEETING`` before their first meeting (:func:`first_meeting`),
    before new groups are formed, as the matching job does. ``match`` replaces the core (the
    naive baseline; no filling then).
    """
    book = setting.book
    rng = random.Random(seed * 7919 + 1)
    waiting: dict[str, Candidate] = {}
    placed_at: dict[str, datetime] = {}
    meets_at: dict[str, datetime] = {}
    busy: list[tuple[datetime, str]] = []  # (free again at, facilitator)
    open_groups: list[_Open] = []
    res = Result(setting.name, [], Counter(), Counter(), 0, 0, 0, 0, 0.0, facilitators=len(facs))
    asked: set[str] = set()
    refuses_digital: dict[str, bool] = {}
    cohort = {p.id: p for w in weekly[:cohort_weeks] for p in w}
    arriving = sorted((p for w in weekly for p in w), key=lambda p: (p.waiting_since, p.id))
    nxt = 0
    t0 = time.perf_counter()
    steps = round(len(weekly) * 7 / step_days)
    for k in range(steps):
        now = START + timedelta(days=step_days * (k + 1))
        while nxt < len(arriving) and arriving[nxt].waiting_since <= now:
            waiting[arriving[nxt].id] = arriving[nxt]
            nxt += 1
        still = []
        for g in open_groups:
            if g.closes_at <= now:
                res.met[len(g.members)] += 1
            else:
                still.append(g)
        open_groups = still
        busy = [(t, fid) for t, fid in busy if t > now]
        in_use = Counter(fid for _, fid in busy)
        free = [replace(f, free_starts=max(0, f.free_starts - in_use[f.id])) for f in facs]
        people = list(waiting.values())
        if setting.fill and open_groups and match is None:
            shown = [_shown(g) for g in open_groups]
            filled = fill_groups(people, shown, book, now=now)
            res.violations += len(fill_violations(filled.additions, people, shown, book, now=now))
            by_id = {g.id: g for g in open_groups}
            for a in filled.additions:
                by_id[a.group].members.append(seated(waiting[a.candidate]))
                placed_at[a.candidate] = now
                meets_at[a.candidate] = by_id[a.group].first_meeting
                del waiting[a.candidate]
            res.joined += len(filled.additions)
            people = list(filled.rest)
        plan = (match or matcher_core)(people, book, now, free)
        res.violations += len(violations(plan, people, book, free, now=now))
        for pg in plan.groups:
            res.groups += 1
            res.sizes[len(pg.members)] += 1
            res.cross += pg.theme is None
            res.digital += pg.digital
            res.starts[pg.facilitator] += 1
            wait = timedelta(days=setting.lead_days if len(pg.members) < setting.lead_below else 0)
            meets = first_meeting(now, pg.slot, pg.members[0], seed, wait)
            # A facilitator is busy for a start from the proposal until weeks after the first
            # meeting, so a later first meeting keeps them busy that much longer.
            later = meets - first_meeting(now, pg.slot, pg.members[0], seed)
            busy.append((now + timedelta(weeks=busy_weeks) + later, pg.facilitator))
            open_groups.append(
                _Open(
                    f"g{res.groups}",
                    pg,
                    [seated(waiting[m]) for m in pg.members],
                    meets,
                    meets - FILL_CLOSES_BEFORE_FIRST_MEETING,
                )
            )
            for m in pg.members:
                placed_at[m] = now
                meets_at[m] = meets
                del waiting[m]
        if setting.accept and match is None:
            if setting.fill and setting.open_suggestions:
                # As the job does: also offer the changes that would let the next run's fill
                # take someone into a group open after this run (open before, or new).
                after = [_shown(g) for g in open_groups]
                nxt_run = now + timedelta(days=step_days)
                plan = with_open_groups(plan, people, after, book, now=nxt_run)
            for cid in plan.waiting:
                if cid in asked or cid not in waiting:
                    continue
                offered = plan.why(cid).suggestions
                if not offered:
                    continue
                asked.add(cid)
                res.asked += 1
                if rng.random() >= setting.accept:
                    continue
                person = waiting[cid]
                no_digital = refuses_digital.setdefault(
                    cid, not person.digital_welcome and rng.random() < setting.digital_no
                )
                acceptable = [
                    s
                    for s in offered
                    if not (no_digital and s.kind is SuggestionKind.WELCOME_DIGITAL)
                ]
                if not acceptable:
                    continue
                # The person picks one of the changes they can live with, not always the
                # first: the ranking helps only as much as people follow it.
                choice = acceptable[0] if setting.first else rng.choice(acceptable)
                res.accepted += 1
                res.changes[choice.kind.value] += 1
                waiting[cid] = _apply(person, choice)
    for g in open_groups:  # still before their first meeting when the run ends
        res.met[len(g.members)] += 1
    res.seconds = time.perf_counter() - t0
    week = timedelta(weeks=1)
    res.waits = [
        (placed_at[i] - p.waiting_since) / week if i in placed_at else None
        for i, p in cohort.items()
    ]
    res.meet_waits = [
        (meets_at[i] - p.waiting_since) / week if i in meets_at else None for i, p in cohort.items()
    ]
    return res


def _pct(waits: list[float | None], q: float) -> str:
    known = sorted(w if w is not None else math.inf for w in waits)
    if not known:
        return "-"
    v = known[min(len(known) - 1, int(q * len(known)))]
    return "never" if v == math.inf else f"{v:.1f}"


def _share(waits: list[float | None], weeks: float) -> str:
    hit = sum(1 for w in waits if w is not None and w <= weeks)
    return f"{100 * hit / max(1, len(waits)):.1f}%"


def _median(sizes: Counter[int]) -> str:
    flat = sorted(sizes.elements())
    return "-" if not flat else f"{statistics.median(flat):g}"


def _load(r: Result) -> str:
    counts = list(r.starts.values()) + [0] * (r.facilitators - len(r.starts))
    if not counts:
        return "-"
    return f"{sum(counts) / len(counts):.1f} / {max(counts)}"


def report(results: list[Result]) -> None:
    rows: list[tuple[str, Callable[[Result], str]]] = [
        ("people in cohort", lambda r: str(len(r.waits))),
        ("placed within 4 weeks", lambda r: _share(r.waits, 4)),
        ("placed within 8 weeks", lambda r: _share(r.waits, 8)),
        ("placed within 12 weeks", lambda r: _share(r.waits, 12)),
        ("placed by end of run", lambda r: _share(r.waits, math.inf)),
        ("median wait (weeks)", lambda r: _pct(r.waits, 0.5)),
        ("90th pct wait (weeks)", lambda r: _pct(r.waits, 0.9)),
        ("first meeting within 12 weeks", lambda r: _share(r.meet_waits, 12)),
        ("median weeks to first meeting", lambda r: _pct(r.meet_waits, 0.5)),
        ("groups formed", lambda r: str(r.groups)),
        ("sizes proposed 4/5/6/7/8", lambda r: "/".join(str(r.sizes[s]) for s in range(4, 9))),
        ("sizes at meeting 1 4/5/6/7/8", lambda r: "/".join(str(r.met[s]) for s in range(4, 9))),
        ("median size at meeting 1", lambda r: _median(r.met)),
        ("share of size 4 at meeting 1", lambda r: f"{100 * r.met[4] / max(1, r.groups):.1f}%"),
        ("people who joined open groups", lambda r: str(r.joined)),
        ("cross-problem groups", lambda r: f"{100 * r.cross / max(1, r.groups):.1f}%"),
        ("digital groups", lambda r: f"{100 * r.digital / max(1, r.groups):.1f}%"),
        ("starts per facilitator (mean / max)", _load),
        ("people per start", lambda r: f"{sum(r.met.elements()) / max(1, r.groups):.2f}"),
        ("asked / accepted a suggestion", lambda r: f"{r.asked} / {r.accepted}"),
        ("rule violations", lambda r: str(r.violations)),
        ("run time (s)", lambda r: f"{r.seconds:.1f}"),
    ]
    cells = [(label, [fn(r) for r in results]) for label, fn in rows]
    width = 2 + max(12, *(len(r.name) for r in results), *(len(c) for _, v in cells for c in v))
    print(f"{'':36}" + "".join(f"{r.name:>{width}}" for r in results))
    for label, values in cells:
        print(f"{label:36}" + "".join(f"{v:>{width}}" for v in values))
    for r in results:
        if r.changes:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(r.changes.items()))
            print(f"  {r.name}: accepted changes: {kinds}")


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--weeks", type=int, default=52, help="weeks of sign-ups measured")
    ap.add_argument("--tail", type=int, default=12, help="extra weeks to let the cohort finish")
    ap.add_argument(
        "--hold", default="0,14,28", help="below_target_after_days to compare (with fill)"
    )
    ap.add_argument("--cross", default="0,7,14,21", help="cross_problem_after_days (with fill)")
    ap.add_argument("--accept", default="0.25,0.5", help="shares accepting a suggestion")
    ap.add_argument("--digital-no", type=float, default=0.5, help="of those not open to digital")
    ap.add_argument("--naive", action="store_true", help="also run the staff-style baseline")
    ap.add_argument(
        "--step", type=float, default=7.0, help="days between matching runs (the job: 15 min)"
    )
    ap.add_argument(
        "--no-open-suggestions",
        action="store_true",
        help="suggest only changes that form new groups (as before suggestions saw open groups)",
    )
    ap.add_argument(
        "--fours",
        default="28,84,112,140,182",
        help="min_size_after_days to compare on first choices (with fill, no cross wait)",
    )
    ap.add_argument("--lead", default="0,21,28,35,42", help="days before a group of four may meet")
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated tables: main,hold,cross,accept,size (default all but size)",
    )
    args = ap.parse_args()
    weekly = arrivals(args.weeks + args.tail, args.seed)
    munis = municipalities()
    facs = facilitators(munis, catchments(munis), random.Random(args.seed + 1))
    total = sum(len(w) for w in weekly[: args.weeks])
    print(
        f"{total} sign-ups in {args.weeks} weeks (+{args.tail} weeks tail), "
        f"{len({f.organisation for f in facs})} catchments, {len(facs)} facilitators, "
        f"seed {args.seed}\n",
        flush=True,
    )
    only = set(args.only.split(",")) if args.only else {"main", "hold", "cross", "accept"}

    def go(setting: Setting, match: Matcher | None = None) -> Result:
        sys.stdout.flush()
        return run(
            setting, weekly, facs, args.weeks, seed=args.seed, match=match, step_days=args.step
        )

    if "main" in only:
        print("Today (groups closed once proposed) versus filling until the first meeting:\n")
        today = RuleBook(Rules(cross_problem_after_days=21))  # the default before issue 13
        results = [
            go(Setting("today", today, fill=False)),
            go(Setting("fill (21 d)", today)),
            go(Setting("fill")),
        ]
        if args.naive:
            results.append(go(Setting("naive", fill=False), matcher_naive))
        report(results)
    if "hold" in only:
        print("\nFill, and a group below target waits for more (below_target_after_days):\n")
        report(
            [
                go(Setting(f"hold {d}d", RuleBook(Rules(below_target_after_days=d))))
                for d in _ints(args.hold)
            ]
        )
    if "cross" in only:
        print("\nFill, and the cross-problem wait (cross_problem_after_days):\n")
        report(
            [
                go(Setting(f"cross {d}d", RuleBook(Rules(cross_problem_after_days=d))))
                for d in _ints(args.cross)
            ]
        )
    if "size" in only:
        print(
            "\nFirst choices only: how long a group of four waits for a fifth "
            "(min_size_after_days; fill, no cross-problem wait), and no groups of four:\n"
        )
        sized = [
            go(
                Setting(
                    f"fours after {d} d",
                    RuleBook(Rules(min_size_after_days=d, cross_problem_after_days=0)),
                )
            )
            for d in _ints(args.fours)
        ]
        sized.append(
            go(Setting("min size 5", RuleBook(Rules(min_size=5, cross_problem_after_days=0))))
        )
        report(sized)
    if "lead" in only:
        print(
            "\nFill, and a group proposed with four meets no earlier than N days after it "
            "was proposed (the life cycle's fill_wait; 0 = before the rule):\n"
        )
        report([go(Setting(f"meets after {d} d", lead_days=d)) for d in _ints(args.lead)])
    if "accept" in only and args.accept:
        print(
            "\nFill, and people accepting a suggestion (digital refused by "
            f"{args.digital_no:.0%} of those not open to it):\n"
        )
        shares = [float(a) for a in args.accept.split(",")]
        opened = not args.no_open_suggestions
        runs = [
            go(
                Setting(
                    f"accept {a:.0%}", accept=a, digital_no=args.digital_no, open_suggestions=opened
                )
            )
            for a in shares
        ]
        if 0.5 in shares:
            wait42 = RuleBook(Rules(min_size_after_days=42))
            runs.append(
                go(
                    Setting(
                        "50%, 4 after 42 d",
                        wait42,
                        accept=0.5,
                        digital_no=args.digital_no,
                        open_suggestions=opened,
                    )
                )
            )
            runs.append(
                go(
                    Setting(
                        f"50%, meets after {FILL_WAIT_DAYS} d",
                        accept=0.5,
                        digital_no=args.digital_no,
                        open_suggestions=opened,
                        lead_days=FILL_WAIT_DAYS,
                    )
                )
            )
        report(runs)


if __name__ == "__main__":
    main()
