"""States are enums whose values are exactly what the database allows: the CHECK constraints
of start_group, facilitator_offer and group_meeting (and the migrations that created them) list
the same strings, and typed rows read the stored strings back as enum members."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import CheckConstraint, Table

from groups.model import GroupState, MeetingState, MemberState, OfferState
from groups.tables import facilitator_offer, group_meeting
from matching.states import ACTIVE_MEMBER_STATES, BEFORE_START, OPEN_GROUP_STATES, TERMINAL
from matching.tables import GROUP_STATES, start_group

VERSIONS = Path(__file__).resolve().parents[3] / "db" / "versions"


def _allowed(table: Table) -> list[str]:
    (check,) = [
        c
        for c in table.constraints
        if isinstance(c, CheckConstraint) and str(c.sqltext).startswith("status IN")
    ]
    return re.findall(r"'([a-z_]+)'", str(check.sqltext))


@pytest.mark.parametrize(
    ("table", "states"),
    [(start_group, GroupState), (facilitator_offer, OfferState), (group_meeting, MeetingState)],
)
def test_each_check_constraint_allows_exactly_the_enum(table: Table, states: type) -> None:
    assert _allowed(table) == [s.value for s in states]


def test_the_migration_created_the_same_group_states() -> None:
    (migration,) = VERSIONS.glob("*_0003_matching.py")
    expected = ",".join(f"'{s}'" for s in GroupState)
    assert f"status IN ({expected})" in migration.read_text(encoding="utf-8")
    assert tuple(GroupState) == GROUP_STATES


def test_the_state_groups_partition_as_the_life_cycle_expects() -> None:
    assert set(BEFORE_START) < set(OPEN_GROUP_STATES)
    assert set(OPEN_GROUP_STATES) | {GroupState.SELF_RUNNING} | set(TERMINAL) == set(GroupState)
    assert not set(OPEN_GROUP_STATES) & set(TERMINAL)
    assert {s.value for s in ACTIVE_MEMBER_STATES} == {
        "proposed", "offered", "invited", "informed", "confirmed",
    }  # fmt: skip


def test_stored_strings_compare_equal_to_the_enum() -> None:
    # Rows written before the enums existed, and SQL comparisons, keep working.
    assert GroupState("self_running") is GroupState.SELF_RUNNING
    assert GroupState.SELF_RUNNING == "self_running"
    assert f"{MemberState.CONFIRMED}" == "confirmed"
    with pytest.raises(ValueError):
        GroupState("paused")
