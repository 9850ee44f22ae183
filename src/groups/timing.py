"""The timing rules of the life cycle: what is due, given a row, the clock and the windows.

A functional core in the style of the matching core: every rule here is a pure function of a
typed snapshot (:mod:`groups.model`), ``now`` and :class:`LifecycleConfig`, returning what to
do. The tick steps (the imperative shell: ``groups.facilitators``, ``groups.places``,
``groups.meetings``, ``groups.checkins``, ``groups.erasure``) load rows, ask these functions
and apply the answer (update rows, enqueue messages, record events). So every boundary — just
before, at, just after each window — is unit tested without a database
(tests/unit/groups/test_timing.py), and no clock or I/O may be used here
(tests/unit/groups/test_groups_purity.py).

Where the shell's SQL pre-selects candidate rows by time (so a tick does not read every
meeting ever planned), it takes the cut-off from a function here (:func:`reminder_horizon`,
:func:`aftercare_cutoff`) and still asks the rule for each row it loaded.

A window "has passed" at its exact end: a step due ``at`` a time is done by a tick at ``now ==
at`` (``now >= at``), the same convention as the reply windows the messages state.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from groups.model import Group, GroupState, Meeting, MeetingState, Member, Offer, OfferState
from matching.states import AWAITING_REPLY, BEFORE_START


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    """All time windows of the life cycle (override per deployment or in tests).

    Defaults follow DOMAIN.md and the issue: a facilitator answers within 3 days, a participant
    within 72 hours, the facilitator attends 3 meetings, follow-up after 4 weeks of
    self-running, review after 6 months, contact data erased 30 days after the group runs on
    its own. A group proposed at its smallest size meets no earlier than ``fill_wait`` after
    it was proposed, so that more people can join first (issue 13; docs/matching.md, "A later
    first meeting for groups of four").
    """

    facilitator_window: timedelta = timedelta(days=3)
    facilitator_reminder_after: timedelta = timedelta(days=2)
    region_escalation_after: timedelta = timedelta(days=3)
    reply_window: timedelta = timedelta(hours=72)
    meeting_form_valid: timedelta = timedelta(days=14)
    meeting_duration: timedelta = timedelta(hours=2)
    meeting_interval: timedelta = timedelta(days=7)
    reminder_before: timedelta = timedelta(hours=24)
    checkin_valid: timedelta = timedelta(days=14)
    followup_after: timedelta = timedelta(weeks=4)
    review_after: timedelta = timedelta(days=182)
    followup_valid: timedelta = timedelta(days=60)
    erase_after: timedelta = timedelta(days=30)
    facilitated_meetings: int = 3
    fill_wait: timedelta = timedelta(days=35)


def meets_from(
    proposed_at: datetime, participants: int, min_size: int, fill_wait: timedelta
) -> datetime | None:
    """The earliest first meeting of a group, or None when it may meet as soon as possible.

    A group with no more than ``min_size`` participants waits until ``fill_wait`` after it was
    proposed: until its first meeting it takes newcomers (``matching.fill``), and the
    simulator found that five weeks make the median group five at its first meeting while
    placing as many people within 12 weeks, at the price of a first meeting about four weeks
    later (docs/matching.md). A group that has grown needs no wait, so the rule is read from
    the size when the facilitator chooses the date.
    """
    if participants > min_size or fill_wait <= timedelta(0):
        return None
    return proposed_at + fill_wait


# --- Start notices (facilitator offers) -----------------------------------------------------


class OfferStep(enum.StrEnum):
    EXPIRE = "expire"  # the window passed: mark expired, ask the next facilitator
    REMIND = "remind"  # halfway: remind the facilitator once


def offer_respond_by(now: datetime, config: LifecycleConfig) -> datetime:
    """Answer deadline of a start notice sent at ``now``."""
    return now + config.facilitator_window


def offer_step(
    offer: Offer, group: Group, now: datetime, config: LifecycleConfig
) -> OfferStep | None:
    """What a pending start notice needs now. Only a notice for a group still looking for a
    facilitator (``proposed``) moves; the rest is left to whoever ended the group."""
    if offer.status is not OfferState.PENDING or group.status is not GroupState.PROPOSED:
        return None
    if now >= offer.respond_by:
        return OfferStep.EXPIRE
    if offer.reminded_at is None and now >= offer.sent_at + config.facilitator_reminder_after:
        return OfferStep.REMIND
    return None


class Escalation(enum.StrEnum):
    COORDINATOR = "coordinator"  # the organisation's coordinator (or the region's, if none)
    REGION = "region"  # the region's coordinator, a further window later


def escalation(group: Group, now: datetime, config: LifecycleConfig) -> Escalation | None:
    """Who to tell that no facilitator is left for a group. Asked each time the shell finds
    nobody to send a start notice to; each level is told once."""
    if group.coordinator_alerted_at is None:
        return Escalation.COORDINATOR
    if group.region_alerted_at is None and (
        now >= group.coordinator_alerted_at + config.region_escalation_after
    ):
        return Escalation.REGION
    return None


# --- A facilitator who said yes but set no first meeting -------------------------------------


class MeetingTimeStep(enum.StrEnum):
    REMIND = "remind"  # send a fresh meeting-form link
    ESCALATE = "escalate"  # tell the coordinator


def meeting_form_expires(now: datetime, config: LifecycleConfig) -> datetime:
    """Expiry of a first-meeting form link issued at ``now``."""
    return now + config.meeting_form_valid


def meeting_time_step(
    group: Group, *, reminded: bool, escalated: bool, now: datetime, config: LifecycleConfig
) -> MeetingTimeStep | None:
    """``facilitator_reminder_after`` after accepting, the facilitator is reminded; a
    ``facilitator_window`` after that, the coordinator is told. ``reminded`` and ``escalated``
    say whether each has happened (the shell keeps them as group events)."""
    if group.status is not GroupState.ACCEPTED or group.accepted_at is None:
        return None
    since = now - group.accepted_at
    if since < config.facilitator_reminder_after:
        return None
    if not reminded:
        return MeetingTimeStep.REMIND
    if not escalated and since >= config.facilitator_reminder_after + config.facilitator_window:
        return MeetingTimeStep.ESCALATE
    return None


# --- Participants' replies -------------------------------------------------------------------


def reply_by(now: datetime, config: LifecycleConfig) -> datetime:
    """Answer deadline of an invitation or a place offered at ``now``."""
    return now + config.reply_window


#: The reply deadline of an invitation or a freed place ends at least this long before the
#: first meeting, so the facilitator knows who comes and nobody answers after the fact.
REPLY_MARGIN = timedelta(hours=24)


def invitation_deadline(
    now: datetime, first_start: datetime | None, config: LifecycleConfig
) -> datetime:
    """The reply window, cut short to end :data:`REPLY_MARGIN` before the first meeting."""
    window = reply_by(now, config)
    return window if first_start is None else min(window, first_start - REPLY_MARGIN)


def reply_expired(member: Member, group_state: GroupState, now: datetime) -> bool:
    """An invitation or place offer not answered by its deadline frees the place — only
    before the group has met (afterwards nobody is moved back to the pool by the clock)."""
    return (
        member.active
        and member.state in AWAITING_REPLY
        and member.respond_by is not None
        and now >= member.respond_by
        and group_state in BEFORE_START
    )


# --- Meetings ---------------------------------------------------------------------------------


def meeting_starts(first: datetime, count: int, config: LifecycleConfig) -> list[datetime]:
    """Meetings 1..count: the first, then every ``meeting_interval`` at the same time."""
    return [first + config.meeting_interval * k for k in range(count)]


def reminder_horizon(now: datetime, config: LifecycleConfig) -> datetime:
    """Planned meetings starting up to this time may need something now (a reminder, the
    start, the check-in): the cut-off of the shell's query."""
    return now + config.reminder_before


@dataclass(frozen=True, slots=True)
class MeetingSteps:
    """What a planned meeting needs now, in this order."""

    remind: bool = False  # remind the participants and the facilitator
    start: bool = False  # meeting 1 has begun: the group is running since ``meeting.starts_at``
    held: bool = False  # the meeting has ended: mark it held, ask the facilitator to check in
    self_running: bool = False  # it was the last facilitated meeting
    ended_at: datetime | None = None  # when it ended (``held``)
    erase_contacts_after: datetime | None = None  # with ``self_running``


NOTHING = MeetingSteps()


def meeting_steps(
    meeting: Meeting, group: Group, now: datetime, config: LifecycleConfig
) -> MeetingSteps:
    """The day before a meeting everyone is reminded once (never after it began); when
    meeting 1 begins the group runs; when a meeting ends it is held and the facilitator is
    asked to check in; when the last facilitated one ends (``meetings_planned``, else the
    configured number) the group runs on its own and its contact data is due for erasure
    ``erase_after`` later."""
    if meeting.status is not MeetingState.PLANNED or group.status not in (
        GroupState.SCHEDULED,
        GroupState.RUNNING,
    ):
        return NOTHING
    remind = (
        meeting.reminded_at is None
        and meeting.starts_at - config.reminder_before <= now < meeting.starts_at
    )
    start = (
        meeting.number == 1 and now >= meeting.starts_at and group.status is GroupState.SCHEDULED
    )
    ended = meeting.starts_at + config.meeting_duration
    if now < ended:
        return MeetingSteps(remind=remind, start=start)
    last = meeting.number >= (group.meetings_planned or config.facilitated_meetings)
    return MeetingSteps(
        remind=remind,
        start=start,
        held=True,
        self_running=last,
        ended_at=ended,
        erase_contacts_after=erase_at(ended, config) if last else None,
    )


def checkin_link_expires(now: datetime, config: LifecycleConfig) -> datetime:
    return now + config.checkin_valid


# --- After the group runs on its own ------------------------------------------------------------


class Aftercare(enum.StrEnum):
    FOLLOWUP = "followup"  # after ``followup_after`` (LINK Oslo: about 6 weeks)
    REVIEW = "review"  # after ``review_after`` (about 6 months)


def aftercare_cutoff(kind: Aftercare, now: datetime, config: LifecycleConfig) -> datetime:
    """Groups self-running since this time or earlier are due for ``kind``."""
    return now - (config.followup_after if kind is Aftercare.FOLLOWUP else config.review_after)


def aftercare_due(group: Group, kind: Aftercare, now: datetime, config: LifecycleConfig) -> bool:
    """The facilitator is asked once to follow up, and once to review, a self-running group."""
    sent = group.followup_sent_at if kind is Aftercare.FOLLOWUP else group.review_sent_at
    return (
        group.status is GroupState.SELF_RUNNING
        and sent is None
        and group.self_running_at is not None
        and group.self_running_at <= aftercare_cutoff(kind, now, config)
    )


def followup_link_expires(now: datetime, config: LifecycleConfig) -> datetime:
    return now + config.followup_valid


# --- Erasure --------------------------------------------------------------------------------------


def erase_at(ended: datetime, config: LifecycleConfig) -> datetime:
    """When the contact data of a group that ran is erased, counted from when it ran alone or
    was closed."""
    return ended + config.erase_after


def erase_on_close(group: Group, now: datetime, config: LifecycleConfig) -> datetime | None:
    """A group closed after it met keeps its members placed; their data goes ``erase_after``
    later (an erasure time already set stands). Before the start nobody was placed: members
    return to the pool and nothing is scheduled."""
    if group.before_start or group.erase_contacts_after is not None:
        return None
    return erase_at(now, config)


def erase_due(group: Group, now: datetime) -> bool:
    """The group's contact data is to be erased now (and has not been)."""
    return (
        group.erase_contacts_after is not None
        and group.erase_contacts_after <= now
        and group.contacts_erased_at is None
    )


__all__ = [
    "NOTHING",
    "REPLY_MARGIN",
    "Aftercare",
    "Escalation",
    "LifecycleConfig",
    "MeetingSteps",
    "MeetingTimeStep",
    "OfferStep",
    "aftercare_cutoff",
    "aftercare_due",
    "checkin_link_expires",
    "erase_at",
    "erase_due",
    "erase_on_close",
    "escalation",
    "followup_link_expires",
    "invitation_deadline",
    "meeting_form_expires",
    "meeting_starts",
    "meeting_steps",
    "meeting_time_step",
    "offer_respond_by",
    "offer_step",
    "reminder_horizon",
    "reply_by",
    "reply_expired",
]
