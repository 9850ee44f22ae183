"""The published tables: their ids (the stable part of each URL), areas, periods and what a
cell counts. Pure data; the pages, the API and the release builder all read it from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AreaKind = Literal["nation", "region", "county", "municipality", "catchment"]
AREA_KINDS: tuple[AreaKind, ...] = ("nation", "region", "county", "municipality", "catchment")
NATION = "NO"
#: Geography, top down: every level is the sum of the one below it.
GEOGRAPHY: tuple[AreaKind, ...] = ("nation", "region", "county", "municipality")
UPPER: tuple[AreaKind, ...] = ("nation", "region", "county")
#: The geography and the catchments: an organisation's municipalities, summed.
PEOPLE: tuple[AreaKind, ...] = (*GEOGRAPHY, "catchment")
SNAPSHOT = "now"


@dataclass(frozen=True, slots=True)
class StatTable:
    """One published table: a cube of period × area × category."""

    id: str
    title: str  # English; the pages translate it
    unit: str  # 'people', 'groups' or 'weeks'
    levels: tuple[AreaKind, ...]
    #: The category dimension's name ('all' only: a one-category table).
    dimension: str
    monthly: bool = True
    #: Counts of people fall under the threshold rule; groups and weeks do not.
    protected: bool = True


#: The breakdowns every measure of people has: (table id suffix, category dimension, title).
BREAKDOWNS = (
    ("theme", "theme", "theme"),
    ("language", "language", "language"),
    ("source", "source", "way of sign-up"),
    ("age", "age", "age band"),
)
#: What became of the people who signed up in a month (the rest still wait or are offered a
#: place): placed, withdrawn, lapsed.
OUTCOME_TITLES = (("placed", "Placed in a group"), ("withdrawn", "Withdrawn"), ("lapsed", "Lapsed"))

#: Placed, withdrawn and lapsed by theme, by language and by way of sign-up, at every level
#: (down to the municipality and the catchment). By source at every level or not at all: the
#: municipality's placed and its sign-ups by source are published, so a county's
#: placed-by-source alone could be differenced against municipalities of a single source;
#: with every municipality's source × outcome table in the problem it is protected. Not by age
#: band: its thirteen bands of small counts tie a month's problem into one large block, about
#: 4 s more CPU per refresh on the bench (see docs/statistics.md, "Limits").
OUTCOME_LEVELS: dict[str, tuple[AreaKind, ...]] = {
    "theme": PEOPLE,
    "language": PEOPLE,
    "source": PEOPLE,
}

TABLES: dict[str, StatTable] = {
    t.id: t
    for t in (
        StatTable("signups", "Sign-ups by month of sign-up", "people", PEOPLE, "all"),
        StatTable("signups-by-theme", "Sign-ups by theme", "people", PEOPLE, "theme"),
        StatTable("signups-by-language", "Sign-ups by language", "people", PEOPLE, "language"),
        StatTable("signups-by-source", "Sign-ups by way of sign-up", "people", PEOPLE, "source"),
        StatTable("signups-by-age", "Sign-ups by age band", "people", PEOPLE, "age"),
        StatTable("placed", "Placed in a group, by month of sign-up", "people", PEOPLE, "all"),
        StatTable("withdrawn", "Withdrawn, by month of sign-up", "people", PEOPLE, "all"),
        StatTable(
            "lapsed",
            "Lapsed (the registration ran out unplaced), by month of sign-up",
            "people",
            PEOPLE,
            "all",
        ),
        *(
            StatTable(
                f"{measure}-by-{short}",
                f"{title}, by {what} and month of sign-up",
                "people",
                OUTCOME_LEVELS[dim],
                dim,
            )
            for measure, title in OUTCOME_TITLES
            for short, dim, what in BREAKDOWNS
            if dim in OUTCOME_LEVELS
        ),
        StatTable(
            "unmet",
            "Unmet demand: sign-ups where no organisation serves",
            "people",
            GEOGRAPHY,
            "all",
        ),
        StatTable("waiting", "Waiting now", "people", PEOPLE, "all", monthly=False),
        StatTable(
            "waiting-by-theme",
            "Waiting now, by theme",
            "people",
            PEOPLE,
            "theme",
            monthly=False,
        ),
        *(
            StatTable(
                f"waiting-by-{short}",
                f"Waiting now, by {what}",
                "people",
                PEOPLE,
                dim,
                monthly=False,
            )
            for short, dim, what in BREAKDOWNS
            if dim != "theme"
        ),
        StatTable(
            "no-facilitator",
            "Waiting now with no facilitator for their theme",
            "people",
            GEOGRAPHY,
            "all",
            monthly=False,
        ),
        StatTable(
            "time-to-placement",
            "Weeks from sign-up to placement, by month of sign-up",
            "weeks",
            PEOPLE,
            "statistic",
            protected=False,
        ),
        StatTable(
            "groups",
            "Groups by month proposed and how far they came",
            "groups",
            PEOPLE,
            "state",
            protected=False,
        ),
    )
}

TableId = Literal[
    "signups",
    "signups-by-theme",
    "signups-by-language",
    "signups-by-source",
    "signups-by-age",
    "placed",
    "withdrawn",
    "lapsed",
    "placed-by-theme",
    "placed-by-language",
    "withdrawn-by-theme",
    "withdrawn-by-language",
    "lapsed-by-theme",
    "lapsed-by-language",
    "placed-by-source",
    "withdrawn-by-source",
    "lapsed-by-source",
    "unmet",
    "waiting",
    "waiting-by-theme",
    "waiting-by-language",
    "waiting-by-source",
    "waiting-by-age",
    "no-facilitator",
    "time-to-placement",
    "groups",
]
#: The time-to-placement statistics (weeks) and the share of people behind each.
QUANTILES = (("median", 0.5), ("p75", 0.75), ("p90", 0.9))
GROUP_STATES = ("proposed", "started", "self_running", "lapsed")


def area_key(kind: str, code: str) -> str:
    """``county:34``: how an area is named in URLs and in the ``parent`` column."""
    return f"{kind}:{code}"


def parse_area(key: str) -> tuple[AreaKind, str] | None:
    kind, _, code = key.partition(":")
    if kind not in AREA_KINDS or not code or len(code) > 80:
        return None
    return kind, code
