"""States of a start group and of its members, shared by matching and the life cycle.

Matching creates the proposal row (``proposed``, members ``proposed``); the life cycle
(:mod:`groups`) moves it on. The enums live here, below both, so neither imports upward. The
values are the strings stored in ``start_group.status`` and ``group_member.state``: a
``StrEnum`` member compares equal to, and binds as, its string, so rows written before the enums
existed read back unchanged. Pure: no I/O (checked by the purity test).
"""

from __future__ import annotations

import enum


class GroupState(enum.StrEnum):
    """Where a start group is. ``lapsed`` and ``closed`` are terminal."""

    PROPOSED = "proposed"  # formed by the matching job; a facilitator is being asked
    ACCEPTED = "accepted"  # a facilitator said yes; no first meeting yet
    SCHEDULED = "scheduled"  # meetings planned, participants invited
    RUNNING = "running"  # the first meeting has begun
    SELF_RUNNING = "self_running"  # the last facilitated meeting has ended
    LAPSED = "lapsed"  # ended before it started (too few people)
    CLOSED = "closed"  # ended by someone, at any point


#: Groups that hold their members (a person is in at most one of these).
OPEN_GROUP_STATES: tuple[GroupState, ...] = (
    GroupState.PROPOSED,
    GroupState.ACCEPTED,
    GroupState.SCHEDULED,
    GroupState.RUNNING,
)
#: Groups whose places may still be refilled (no meeting has taken place yet).
BEFORE_START: tuple[GroupState, ...] = (
    GroupState.PROPOSED,
    GroupState.ACCEPTED,
    GroupState.SCHEDULED,
)
#: Groups that have ended.
TERMINAL: tuple[GroupState, ...] = (GroupState.LAPSED, GroupState.CLOSED)


class MemberState(enum.StrEnum):
    """A person's place in one group. The first five hold a place; the rest are history."""

    PROPOSED = "proposed"  # in the proposal, not yet invited
    OFFERED = "offered"  # offered a freed place, answer pending
    INVITED = "invited"  # invited to the first meeting by message, answer pending
    INFORMED = "informed"  # no contact channel: invited on their status page
    CONFIRMED = "confirmed"  # said yes
    DECLINED = "declined"  # said no: back in the pool
    EXPIRED = "expired"  # did not answer in time: back in the pool
    RETURNED = "returned"  # the group lapsed: back in the pool
    CLOSED = "closed"  # the group was closed
    LEFT = "left"  # said yes, then left the group (groups.members.leave_group)
    WITHDRAWN = "withdrawn"  # written by older versions on withdrawal (now the row is deleted)


#: Member states that hold a place in the group.
ACTIVE_MEMBER_STATES: tuple[MemberState, ...] = (
    MemberState.PROPOSED,
    MemberState.OFFERED,
    MemberState.INVITED,
    MemberState.INFORMED,
    MemberState.CONFIRMED,
)
#: Members whose answer is awaited within a reply window (``respond_by``).
AWAITING_REPLY: tuple[MemberState, ...] = (MemberState.INVITED, MemberState.OFFERED)


def check_in(column: str, states: type[enum.StrEnum]) -> str:
    """The SQL of a CHECK constraint that keeps ``column`` within ``states``."""
    return f"{column} IN ({','.join(repr(str(s)) for s in states)})"
