"""Groups and time to placement outside the linear problems (figures.waits_groups), pure."""

from __future__ import annotations

from collections import Counter

from figures.inputs import Geography, Inputs, PeopleCounts
from figures.release import build_release

GEO = Geography(
    county_of={"4601": "46", "4632": "46", "3405": "34"},
    region_of={"46": "vestland", "34": "innlandet"},
    catchments={"a": ("4601", "4632")},
    catchment_region={"a": "vestland"},
)


def _cells(inputs: Inputs, table: str) -> dict[tuple[str, str, str], tuple[int | None, bool]]:
    return {
        (c.period, f"{c.area_kind}:{c.area_code}", c.category): (c.value, c.suppressed)
        for c in build_release(inputs)
        if c.table_id == table
    }


def test_a_shown_time_to_placement_never_tells_a_hidden_placed_count() -> None:
    """County 46 placed 6 = Bergen 5 + Austrheim 1. Austrheim's 1 is hidden and Bergen's 5
    with it; had Bergen's time to placement (five people) been shown, 6 − 5 gives the 1."""
    inputs = Inputs(geography=GEO)
    inputs.people[("2026-10", "4601", "all")] = PeopleCounts(12, 5)
    inputs.people[("2026-10", "4632", "all")] = PeopleCounts(8, 1)
    inputs.waits[("2026-10", "4601", "a")] = Counter({2: 3, 3: 2})
    inputs.waits[("2026-10", "4632", "a")] = Counter({4: 1})
    placed = _cells(inputs, "placed")
    assert placed[("2026-10", "municipality:4601", "all")] == (None, True)
    assert placed[("2026-10", "county:46", "all")] == (6, False)
    waits = _cells(inputs, "time-to-placement")
    assert waits[("2026-10", "municipality:4601", "median")] == (None, True)
    assert waits[("2026-10", "municipality:4632", "median")] == (None, True)
    assert waits[("2026-10", "county:46", "median")] == (2, False)
    assert waits[("2026-10", "county:46", "p90")] == (4, False)
    # With Austrheim's person waiting instead, Bergen's five are shown, and so is their time.
    inputs.people[("2026-10", "4632", "all")] = PeopleCounts(8, 0)
    inputs.waits.pop(("2026-10", "4632", "a"))
    waits = _cells(inputs, "time-to-placement")
    assert waits[("2026-10", "municipality:4601", "median")] == (2, False)
    assert waits[("2026-10", "municipality:4601", "p90")] == (3, False)


def test_groups_roll_up_from_their_home_and_a_group_without_one_stops_at_the_region() -> None:
    inputs = Inputs(geography=GEO)
    inputs.groups[("2026-10", "a", "vestland", "4601")] = Counter(proposed=2, started=1)
    inputs.groups[("2026-10", "a", "vestland", "4632")] = Counter(proposed=1, lapsed=1)
    inputs.groups[("2026-10", "a", "vestland", None)] = Counter(proposed=1)
    inputs.groups[("2026-10", "a", "vestland", "9999")] = Counter(proposed=1)  # merged away
    got = _cells(inputs, "groups")
    assert got[("2026-10", "municipality:4601", "proposed")] == (2, False)
    assert got[("2026-10", "municipality:4632", "lapsed")] == (1, False)
    assert got[("2026-10", "county:46", "proposed")] == (3, False)
    assert got[("2026-10", "region:vestland", "proposed")] == (5, False)
    assert got[("2026-10", "nation:NO", "proposed")] == (5, False)
    assert got[("2026-10", "catchment:a", "proposed")] == (5, False)
    assert not any(area == "region:unknown" for _, area, _ in got)
    parents = {
        (c.area_kind, c.area_code): c.parent
        for c in build_release(inputs)
        if c.table_id == "groups"
    }
    assert parents[("municipality", "4632")] == "county:46"
    assert parents[("county", "46")] == "region:vestland"
    assert parents[("catchment", "a")] == "region:vestland"
