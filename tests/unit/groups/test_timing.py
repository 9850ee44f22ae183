"""The life cycle's timing rules (groups.timing), without a database.

Every rule is tried just before, at and just after each of its windows, with windows that differ
from the defaults (so a rule that silently used a default would fail), and in the states where
it must not fire.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from groups import timing
from groups.model import (
    Group,
    GroupState,
    Meeting,
    MeetingState,
    Member,
    MemberState,
    Offer,
    OfferState,
)
from groups.timing import (
    NOTHING,
    Aftercare,
    Escalation,
    LifecycleConfig,
    MeetingSteps,
    MeetingTimeStep,
    OfferStep,
)

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)
TICK = timedelta(microseconds=1)  # the smallest step "just before" / "just after"
#: No window equals its default, and no two are equal, so each rule must read its own window.
CFG = LifecycleConfig(
    facilitator_window=timedelta(hours=30),
    facilitator_reminder_after=timedelta(hours=11),
    region_escalation_after=timedelta(hours=17),
    reply_window=timedelta(hours=5),
    meeting_form_valid=timedelta(days=3),
    meeting_duration=timedelta(minutes=90),
    meeting_interval=timedelta(days=14),
    reminder_before=timedelta(hours=6),
    checkin_valid=timedelta(days=2),
    followup_after=timedelta(days=9),
    review_after=timedelta(days=40),
    followup_valid=timedelta(days=4),
    erase_after=timedelta(days=12),
    facilitated_meetings=2,
)
GID = uuid.UUID(int=1)

GROUP = Group(
    id=GID,
    organisation_id=uuid.UUID(int=2),
    theme="sorg",
    language="no",
    slot="tue-evening",
    digital=False,
    facilitator_id=uuid.UUID(int=3),
    status=GroupState.PROPOSED,
    rules={},
    match_run_id=None,
    created_at=T0,
    updated_at=T0,
    places=6,
    meetings_planned=None,
    accepted_at=None,
    scheduled_at=None,
    started_at=None,
    self_running_at=None,
    closed_at=None,
    closed_reason=None,
    coordinator_alerted_at=None,
    region_alerted_at=None,
    followup_sent_at=None,
    followup_done_at=None,
    review_sent_at=None,
    review_done_at=None,
    erase_contacts_after=None,
    contacts_erased_at=None,
)
OFFER = Offer(
    id=uuid.UUID(int=4),
    group_id=GID,
    facilitator_id=uuid.UUID(int=3),
    status=OfferState.PENDING,
    sent_at=T0,
    respond_by=T0 + CFG.facilitator_window,
    reminded_at=None,
    answered_at=None,
)
MEETING = Meeting(
    id=uuid.UUID(int=5),
    group_id=GID,
    number=1,
    starts_at=T0 + timedelta(days=7),
    place="Frivilligsentralen",
    sequence=0,
    status=MeetingState.PLANNED,
    reminded_at=None,
    checkin_sent_at=None,
    checkin_at=None,
    attended=None,
    goes_on=None,
    follow_up=None,
)
MEMBER = Member(
    group_id=GID,
    interest_id=uuid.UUID(int=6),
    active=True,
    state=MemberState.INVITED,
    joined_at=T0,
    respond_by=T0 + CFG.reply_window,
    answered_at=None,
    contact_erased_at=None,
)


# --- start notices ---------------------------------------------------------------------------


def test_a_start_notice_is_answered_within_the_configured_window() -> None:
    assert timing.offer_respond_by(T0, CFG) == T0 + timedelta(hours=30)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (CFG.facilitator_reminder_after - TICK, None),
        (CFG.facilitator_reminder_after, OfferStep.REMIND),
        (CFG.facilitator_reminder_after + TICK, OfferStep.REMIND),
        (CFG.facilitator_window - TICK, OfferStep.REMIND),
        (CFG.facilitator_window, OfferStep.EXPIRE),
        (CFG.facilitator_window + TICK, OfferStep.EXPIRE),
    ],
)
def test_a_silent_facilitator_is_reminded_then_the_notice_expires(
    after: timedelta, expected: OfferStep | None
) -> None:
    assert timing.offer_step(OFFER, GROUP, T0 + after, CFG) is expected


def test_a_facilitator_is_reminded_once() -> None:
    reminded = replace(OFFER, reminded_at=T0 + CFG.facilitator_reminder_after)
    now = T0 + CFG.facilitator_window - TICK
    assert timing.offer_step(reminded, GROUP, now, CFG) is None
    assert timing.offer_step(reminded, GROUP, now + TICK, CFG) is OfferStep.EXPIRE


def test_the_deadline_stored_on_the_notice_counts_not_the_current_window() -> None:
    # A notice sent under an older, longer window keeps its deadline.
    old = replace(OFFER, respond_by=T0 + timedelta(days=10), reminded_at=T0)
    assert timing.offer_step(old, GROUP, T0 + CFG.facilitator_window, CFG) is None


@pytest.mark.parametrize("status", [s for s in OfferState if s is not OfferState.PENDING])
def test_only_a_pending_notice_moves(status: OfferState) -> None:
    late = T0 + CFG.facilitator_window * 2
    assert timing.offer_step(replace(OFFER, status=status), GROUP, late, CFG) is None


@pytest.mark.parametrize("state", [s for s in GroupState if s is not GroupState.PROPOSED])
def test_a_notice_for_a_group_no_longer_looking_does_not_move(state: GroupState) -> None:
    late = T0 + CFG.facilitator_window * 2
    assert timing.offer_step(OFFER, replace(GROUP, status=state), late, CFG) is None


# --- escalation when no facilitator is left ---------------------------------------------------


def test_the_coordinator_is_told_first_at_once() -> None:
    assert timing.escalation(GROUP, T0, CFG) is Escalation.COORDINATOR


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (CFG.region_escalation_after - TICK, None),
        (CFG.region_escalation_after, Escalation.REGION),
        (CFG.region_escalation_after + TICK, Escalation.REGION),
    ],
)
def test_the_region_is_told_a_window_after_the_coordinator(
    after: timedelta, expected: Escalation | None
) -> None:
    told = replace(GROUP, coordinator_alerted_at=T0)
    assert timing.escalation(told, T0 + after, CFG) is expected


def test_each_level_is_told_once() -> None:
    both = replace(GROUP, coordinator_alerted_at=T0, region_alerted_at=T0 + timedelta(days=1))
    assert timing.escalation(both, T0 + timedelta(days=365), CFG) is None


# --- a yes without a first meeting ------------------------------------------------------------

ACCEPTED = replace(GROUP, status=GroupState.ACCEPTED, accepted_at=T0)
ESCALATE_AT = CFG.facilitator_reminder_after + CFG.facilitator_window


@pytest.mark.parametrize(
    ("after", "reminded", "expected"),
    [
        (CFG.facilitator_reminder_after - TICK, False, None),
        (CFG.facilitator_reminder_after, False, MeetingTimeStep.REMIND),
        (CFG.facilitator_reminder_after + TICK, False, MeetingTimeStep.REMIND),
        # The coordinator is told only after the facilitator has been reminded.
        (ESCALATE_AT + timedelta(days=1), False, MeetingTimeStep.REMIND),
        (ESCALATE_AT - TICK, True, None),
        (ESCALATE_AT, True, MeetingTimeStep.ESCALATE),
        (ESCALATE_AT + TICK, True, MeetingTimeStep.ESCALATE),
    ],
)
def test_a_yes_without_a_meeting_time_is_chased_then_escalated(
    after: timedelta, reminded: bool, expected: MeetingTimeStep | None
) -> None:
    step = timing.meeting_time_step(
        ACCEPTED, reminded=reminded, escalated=False, now=T0 + after, config=CFG
    )
    assert step is expected


def test_the_meeting_time_escalation_happens_once() -> None:
    late = T0 + ESCALATE_AT * 3
    assert (
        timing.meeting_time_step(ACCEPTED, reminded=True, escalated=True, now=late, config=CFG)
        is None
    )


@pytest.mark.parametrize("state", [s for s in GroupState if s is not GroupState.ACCEPTED])
def test_only_an_accepted_group_is_chased_for_a_meeting_time(state: GroupState) -> None:
    group = replace(ACCEPTED, status=state)
    late = T0 + ESCALATE_AT * 3
    assert (
        timing.meeting_time_step(group, reminded=False, escalated=False, now=late, config=CFG)
        is None
    )


def test_the_meeting_form_link_lasts_the_configured_time() -> None:
    assert timing.meeting_form_expires(T0, CFG) == T0 + timedelta(days=3)


# --- participants' replies ---------------------------------------------------------------------


def test_an_invitation_is_answered_within_the_configured_window() -> None:
    assert timing.reply_by(T0, CFG) == T0 + timedelta(hours=5)


@pytest.mark.parametrize(
    ("first_in", "deadline_in"),
    [
        (None, CFG.reply_window),  # no meeting yet: the whole window
        # The whole window while it ends at least REPLY_MARGIN before the first meeting ...
        (CFG.reply_window + timing.REPLY_MARGIN + TICK, CFG.reply_window),
        (CFG.reply_window + timing.REPLY_MARGIN, CFG.reply_window),
        # ... else cut short to end REPLY_MARGIN before it.
        (CFG.reply_window + timing.REPLY_MARGIN - TICK, CFG.reply_window - TICK),
        (timing.REPLY_MARGIN + timedelta(hours=1), timedelta(hours=1)),
    ],
)
def test_the_reply_deadline_ends_a_day_before_the_first_meeting(
    first_in: timedelta | None, deadline_in: timedelta
) -> None:
    first = None if first_in is None else T0 + first_in
    assert timing.invitation_deadline(T0, first, CFG) == T0 + deadline_in
    assert timedelta(hours=24) == timing.REPLY_MARGIN


@pytest.mark.parametrize(
    ("after", "expected"),
    [(CFG.reply_window - TICK, False), (CFG.reply_window, True), (CFG.reply_window + TICK, True)],
)
@pytest.mark.parametrize("state", [MemberState.INVITED, MemberState.OFFERED])
def test_an_unanswered_invitation_or_place_offer_expires_at_its_deadline(
    state: MemberState, after: timedelta, expected: bool
) -> None:
    member = replace(MEMBER, state=state)
    assert timing.reply_expired(member, GroupState.SCHEDULED, T0 + after) is expected


@pytest.mark.parametrize(
    "member",
    [
        replace(MEMBER, active=False),
        replace(MEMBER, respond_by=None),
        *(
            replace(MEMBER, state=s)
            for s in MemberState
            if s not in (MemberState.INVITED, MemberState.OFFERED)
        ),
    ],
)
def test_only_an_awaited_reply_expires(member: Member) -> None:
    assert not timing.reply_expired(member, GroupState.SCHEDULED, T0 + timedelta(days=30))


@pytest.mark.parametrize("state", list(GroupState))
def test_replies_expire_only_before_the_group_has_met(state: GroupState) -> None:
    before = state in (GroupState.PROPOSED, GroupState.ACCEPTED, GroupState.SCHEDULED)
    assert timing.reply_expired(MEMBER, state, T0 + timedelta(days=30)) is before


# --- meetings -----------------------------------------------------------------------------------


def test_meetings_follow_at_the_configured_interval() -> None:
    first = T0 + timedelta(days=7)
    assert timing.meeting_starts(first, 3, CFG) == [
        first,
        first + timedelta(days=14),
        first + timedelta(days=28),
    ]
    assert timing.meeting_starts(first, 1, CFG) == [first]


def test_the_query_horizon_is_the_reminder_window() -> None:
    assert timing.reminder_horizon(T0, CFG) == T0 + timedelta(hours=6)


SCHEDULED = replace(GROUP, status=GroupState.SCHEDULED, meetings_planned=3)
RUNNING = replace(SCHEDULED, status=GroupState.RUNNING)
START = MEETING.starts_at
END = START + CFG.meeting_duration


@pytest.mark.parametrize(
    ("now", "remind"),
    [
        (START - CFG.reminder_before - TICK, False),
        (START - CFG.reminder_before, True),
        (START - CFG.reminder_before + TICK, True),
        (START - TICK, True),
        (START, False),  # never a reminder for a meeting that has begun
    ],
)
def test_everyone_is_reminded_within_the_window_before_a_meeting(
    now: datetime, remind: bool
) -> None:
    assert timing.meeting_steps(MEETING, SCHEDULED, now, CFG).remind is remind


def test_a_meeting_is_reminded_once() -> None:
    reminded = replace(MEETING, reminded_at=START - CFG.reminder_before)
    assert not timing.meeting_steps(reminded, SCHEDULED, START - TICK, CFG).remind


@pytest.mark.parametrize(
    ("now", "start"), [(START - TICK, False), (START, True), (START + TICK, True)]
)
def test_the_group_runs_when_its_first_meeting_begins(now: datetime, start: bool) -> None:
    assert timing.meeting_steps(MEETING, SCHEDULED, now, CFG).start is start


def test_only_the_first_meeting_of_a_scheduled_group_starts_it() -> None:
    second = replace(MEETING, number=2)
    assert not timing.meeting_steps(second, SCHEDULED, END, CFG).start
    assert not timing.meeting_steps(MEETING, RUNNING, END, CFG).start


@pytest.mark.parametrize(("now", "held"), [(END - TICK, False), (END, True), (END + TICK, True)])
def test_a_meeting_is_held_and_checked_in_when_it_ends(now: datetime, held: bool) -> None:
    steps = timing.meeting_steps(MEETING, RUNNING, now, CFG)
    assert steps.held is held
    assert steps.ended_at == (END if held else None)
    assert not steps.self_running  # meeting 1 of 3


@pytest.mark.parametrize(
    ("number", "planned", "last"),
    [(2, 3, False), (3, 3, True), (4, 3, True), (1, None, False), (2, None, True)],
)
def test_the_group_runs_on_its_own_after_the_last_facilitated_meeting(
    number: int, planned: int | None, last: bool
) -> None:
    meeting = replace(MEETING, number=number)
    group = replace(RUNNING, meetings_planned=planned)  # None: the configured 2
    steps = timing.meeting_steps(meeting, group, END, CFG)
    assert steps.held
    assert steps.self_running is last
    assert steps.erase_contacts_after == (END + timedelta(days=12) if last else None)


def test_after_downtime_one_tick_does_everything_that_fell_due_but_the_reminder() -> None:
    only = replace(SCHEDULED, meetings_planned=1)
    assert timing.meeting_steps(MEETING, only, END + timedelta(days=3), CFG) == MeetingSteps(
        remind=False,
        start=True,
        held=True,
        self_running=True,
        ended_at=END,
        erase_contacts_after=END + CFG.erase_after,
    )


@pytest.mark.parametrize("status", [MeetingState.HELD, MeetingState.CANCELLED])
def test_a_held_or_cancelled_meeting_needs_nothing(status: MeetingState) -> None:
    assert timing.meeting_steps(replace(MEETING, status=status), RUNNING, END, CFG) == NOTHING


@pytest.mark.parametrize(
    "state", [s for s in GroupState if s not in (GroupState.SCHEDULED, GroupState.RUNNING)]
)
def test_meetings_of_a_group_not_meeting_need_nothing(state: GroupState) -> None:
    group = replace(SCHEDULED, status=state)
    for now in (START - TICK, END):
        assert timing.meeting_steps(MEETING, group, now, CFG) == NOTHING


def test_the_checkin_link_lasts_the_configured_time() -> None:
    assert timing.checkin_link_expires(T0, CFG) == T0 + timedelta(days=2)


# --- after the group runs on its own ----------------------------------------------------------

SELF = replace(GROUP, status=GroupState.SELF_RUNNING, self_running_at=T0)


@pytest.mark.parametrize(
    ("kind", "after"),
    [(Aftercare.FOLLOWUP, CFG.followup_after), (Aftercare.REVIEW, CFG.review_after)],
)
def test_follow_up_and_review_fall_due_after_their_windows(
    kind: Aftercare, after: timedelta
) -> None:
    assert not timing.aftercare_due(SELF, kind, T0 + after - TICK, CFG)
    assert timing.aftercare_due(SELF, kind, T0 + after, CFG)
    assert timing.aftercare_due(SELF, kind, T0 + after + TICK, CFG)
    assert timing.aftercare_cutoff(kind, T0 + after, CFG) == T0


def test_follow_up_and_review_are_asked_for_once() -> None:
    late = T0 + timedelta(days=400)
    assert not timing.aftercare_due(
        replace(SELF, followup_sent_at=T0), Aftercare.FOLLOWUP, late, CFG
    )
    assert timing.aftercare_due(replace(SELF, followup_sent_at=T0), Aftercare.REVIEW, late, CFG)
    assert not timing.aftercare_due(replace(SELF, review_sent_at=T0), Aftercare.REVIEW, late, CFG)


@pytest.mark.parametrize("state", [s for s in GroupState if s is not GroupState.SELF_RUNNING])
def test_only_a_self_running_group_gets_after_care(state: GroupState) -> None:
    late = T0 + timedelta(days=400)
    for kind in Aftercare:
        assert not timing.aftercare_due(replace(SELF, status=state), kind, late, CFG)


def test_the_followup_link_lasts_the_configured_time() -> None:
    assert timing.followup_link_expires(T0, CFG) == T0 + timedelta(days=4)


# --- erasure ------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [GroupState.PROPOSED, GroupState.ACCEPTED, GroupState.SCHEDULED])
def test_closing_before_the_start_schedules_no_erasure(state: GroupState) -> None:
    # Nobody was placed: everyone returns to the pool instead.
    assert timing.erase_on_close(replace(GROUP, status=state), T0, CFG) is None


@pytest.mark.parametrize("state", [GroupState.RUNNING, GroupState.SELF_RUNNING])
def test_closing_after_the_group_met_schedules_erasure(state: GroupState) -> None:
    group = replace(GROUP, status=state)
    assert timing.erase_on_close(group, T0, CFG) == T0 + timedelta(days=12)
    already = replace(group, erase_contacts_after=T0 + timedelta(days=1))
    assert timing.erase_on_close(already, T0, CFG) is None  # the earlier time stands


def test_erasure_falls_due_at_its_time_once() -> None:
    due = replace(GROUP, status=GroupState.SELF_RUNNING, erase_contacts_after=T0)
    assert not timing.erase_due(due, T0 - TICK)
    assert timing.erase_due(due, T0)
    assert timing.erase_due(due, T0 + TICK)
    assert not timing.erase_due(replace(due, contacts_erased_at=T0), T0 + TICK)
    assert not timing.erase_due(replace(due, erase_contacts_after=None), T0 + timedelta(days=999))


def test_the_erasure_time_is_counted_from_the_end() -> None:
    assert timing.erase_at(T0, CFG) == T0 + timedelta(days=12)


def test_a_group_at_its_smallest_size_meets_after_the_fill_wait_and_a_larger_one_at_once() -> None:
    from groups.timing import meets_from

    proposed = datetime(2026, 12, 1, 9, tzinfo=UTC)
    wait = timedelta(days=35)
    assert meets_from(proposed, 4, 4, wait) == proposed + wait
    assert meets_from(proposed, 3, 4, wait) == proposed + wait  # someone left: still waits
    assert meets_from(proposed, 5, 4, wait) is None
    assert meets_from(proposed, 5, 5, wait) == proposed + wait  # an organisation's min size
    assert meets_from(proposed, 4, 4, timedelta(0)) is None
    assert LifecycleConfig().fill_wait == wait


def test_the_fill_wait_is_the_organisations_rule_or_the_default() -> None:
    from groups.config import fill_wait_for

    config = LifecycleConfig()
    assert fill_wait_for({}, config) == timedelta(days=35)
    assert fill_wait_for({"small_group_meets_after_days": 0}, config) == timedelta(0)
    assert fill_wait_for({"small_group_meets_after_days": 35}, config) == timedelta(days=35)
    assert fill_wait_for({"small_group_meets_after_days": 500}, config) == timedelta(days=60)
    assert fill_wait_for({"small_group_meets_after_days": "x"}, config) == timedelta(days=35)
