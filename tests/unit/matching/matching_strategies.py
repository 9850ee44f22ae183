"""Hypothesis strategies and builders shared by the matching tests (imported by file name)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from matching.model import AGE_BANDS, Candidate, Facilitator, RuleBook, Rules

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
THEMES = ("angst", "sorg", "depresjon")
SLOTS = ("tue-evening", "wed-evening", "thu-daytime")


def person(
    cid: str,
    *,
    org: str = "A",
    themes: tuple[str, ...] = ("sorg",),
    cross: bool = False,
    age: int = 38,
    gender: str | None = "female",
    same_gender: bool = False,
    languages: frozenset[str] = frozenset({"no"}),
    slots: frozenset[str] = frozenset({"tue-evening"}),
    digital: bool = False,
    days: int = 10,
) -> Candidate:
    """A candidate with sensible defaults, for hand-written scenarios."""
    return Candidate(
        id=cid,
        organisation=org,
        municipality="4601",
        themes=themes,
        cross_problem_welcome=cross,
        age_band=age,
        gender=gender,  # type: ignore[arg-type]
        same_gender=same_gender,
        languages=languages,
        slots=slots,
        digital_welcome=digital,
        waiting_since=NOW - timedelta(days=days, hours=int(cid.encode().hex(), 16) % 7),
    )


def starter(
    fid: str,
    *,
    org: str = "A",
    themes: frozenset[str] = frozenset({*THEMES, "across"}),
    languages: frozenset[str] = frozenset({"no", "en"}),
    free: int = 2,
    digital: bool = True,
) -> Facilitator:
    return Facilitator(fid, org, themes, languages, free, digital)


@st.composite
def candidates(draw: st.DrawFn, index: int, orgs: tuple[str, ...]) -> Candidate:
    ages = AGE_BANDS[3:8]
    return Candidate(
        id=f"c{index:03d}",
        organisation=draw(st.sampled_from(orgs)),
        municipality="0301",
        themes=tuple(draw(st.lists(st.sampled_from(THEMES), max_size=2, unique=True))),
        cross_problem_welcome=draw(st.booleans()),
        age_band=draw(st.sampled_from(ages)),
        gender=draw(st.sampled_from(["female", "male", "other", None])),
        same_gender=draw(st.integers(0, 3)) == 0,
        languages=frozenset(
            draw(st.lists(st.sampled_from(["no", "en"]), min_size=1, max_size=2, unique=True))
        ),
        slots=frozenset(
            draw(st.lists(st.sampled_from(SLOTS), min_size=1, max_size=2, unique=True))
        ),
        digital_welcome=draw(st.booleans()),
        waiting_since=NOW - timedelta(days=draw(st.integers(0, 60)), minutes=index),
    )


@st.composite
def instances(
    draw: st.DrawFn, min_n: int = 0, max_n: int = 14
) -> tuple[list[Candidate], RuleBook, list[Facilitator]]:
    """A small random instance: candidates, a rule book, facilitators."""
    orgs = ("A", "B")[: draw(st.integers(1, 2))]
    n = draw(st.integers(min_n, max_n))
    cands = [draw(candidates(i, orgs)) for i in range(n)]
    overrides = {}
    if draw(st.booleans()):
        overrides["B"] = Rules(
            min_size=draw(st.integers(3, 4)),
            target_size=5,
            max_size=draw(st.integers(5, 6)),
            max_age_span=draw(st.sampled_from([10, 15, 20])),
            pool_digital_across_catchments=draw(st.booleans()),
            min_size_after_days=draw(st.sampled_from([0, 14, 28])),
        )
    facs = []
    for k in range(draw(st.integers(1, 3))):
        facs.append(
            Facilitator(
                id=f"f{k}",
                organisation=draw(st.sampled_from(orgs)),
                themes=frozenset(
                    draw(
                        st.lists(
                            st.sampled_from([*THEMES, "across"]),
                            min_size=1,
                            max_size=4,
                            unique=True,
                        )
                    )
                ),
                languages=frozenset(
                    draw(
                        st.lists(st.sampled_from(["no", "en"]), min_size=1, max_size=2, unique=True)
                    )
                ),
                free_starts=draw(st.integers(0, 2)),
                digital=draw(st.booleans()),
            )
        )
    return cands, RuleBook(Rules(), overrides), facs
