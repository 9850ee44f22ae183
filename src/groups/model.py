"""Typed rows of the life cycle: a group, its members, start notices and meetings.

The steps used to pass groups around as ``Mapping[Any, Any]`` and read them by string key, so
a misspelt column was a ``KeyError`` at run time and mypy could not see what a step needs.
These frozen dataclasses are what the shell loads (``groups.common.load_group`` and friends)
and what the pure timing rules (:mod:`groups.timing`) read. Pure: no I/O (checked by
tests/unit/groups/test_groups_purity.py).

``from_row`` takes the columns it knows and ignores the rest, so a migration that adds a column
does not break loading.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Self

from matching.states import BEFORE_START, TERMINAL, GroupState, MemberState

__all__ = [
    "Group",
    "GroupState",
    "Meeting",
    "MeetingState",
    "Member",
    "MemberState",
    "Offer",
    "OfferState",
]


class OfferState(enum.StrEnum):
    """A start notice to one facilitator (``facilitator_offer.status``)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"  # no answer within the window
    WITHDRAWN = "withdrawn"  # the group ended while the question stood


class MeetingState(enum.StrEnum):
    """One facilitated meeting (``group_meeting.status``)."""

    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


def _pick(cls: type[Any], row: Mapping[Any, Any]) -> dict[str, Any]:
    return {f.name: row[f.name] for f in fields(cls)}


@dataclass(frozen=True, slots=True)
class Group:
    """A start group (``start_group``): the proposal and its life-cycle columns."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    theme: str | None  # None: across problems (på tvers)
    language: str
    slot: str
    digital: bool
    facilitator_id: uuid.UUID | None
    status: GroupState
    rules: Mapping[str, Any]  # the organisation's rules when the group was formed
    match_run_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    places: int | None
    meetings_planned: int | None
    accepted_at: datetime | None
    scheduled_at: datetime | None
    started_at: datetime | None
    self_running_at: datetime | None
    closed_at: datetime | None
    closed_reason: str | None
    coordinator_alerted_at: datetime | None
    region_alerted_at: datetime | None
    followup_sent_at: datetime | None
    followup_done_at: datetime | None
    review_sent_at: datetime | None
    review_done_at: datetime | None
    erase_contacts_after: datetime | None
    contacts_erased_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Self:
        values = _pick(cls, row)
        values["status"] = GroupState(values["status"])
        values["rules"] = dict(values["rules"] or {})
        return cls(**values)

    @property
    def before_start(self) -> bool:
        """No meeting has taken place yet: freed places may be refilled."""
        return self.status in BEFORE_START

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True, slots=True)
class Member:
    """One person's place in one group (``group_member``)."""

    group_id: uuid.UUID
    interest_id: uuid.UUID
    active: bool
    state: MemberState
    joined_at: datetime
    respond_by: datetime | None  # reply window of an invitation or a place offer
    answered_at: datetime | None
    contact_erased_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Self:
        values = _pick(cls, row)
        values["state"] = MemberState(values["state"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Offer:
    """A start notice to one facilitator (``facilitator_offer``)."""

    id: uuid.UUID
    group_id: uuid.UUID
    facilitator_id: uuid.UUID
    status: OfferState
    sent_at: datetime
    respond_by: datetime
    reminded_at: datetime | None
    answered_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Self:
        values = _pick(cls, row)
        values["status"] = OfferState(values["status"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Meeting:
    """Facilitated meeting number ``number`` of a group (``group_meeting``).

    ``sequence`` is the calendar file's SEQUENCE: it grows when the meeting moves or is
    cancelled, so calendars update the event instead of adding one.
    """

    id: uuid.UUID
    group_id: uuid.UUID
    number: int
    starts_at: datetime
    place: str
    sequence: int
    status: MeetingState
    reminded_at: datetime | None
    checkin_sent_at: datetime | None
    checkin_at: datetime | None
    attended: int | None
    goes_on: bool | None
    follow_up: str | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Self:
        values = _pick(cls, row)
        values["status"] = MeetingState(values["status"])
        return cls(**values)
