"""The life cycle of a start group, from proposal to a group that runs on its own.

See docs/lifecycle.md. The scheduled :func:`tick` moves time-based steps; the link pages
(:mod:`groups.pages`) call the answer functions; intake's status page calls
:func:`participant_step`.
"""

from groups.checkins import record_checkin, record_followup
from groups.config import Lifecycle, LifecycleConfig
from groups.facilitators import OfferAnswer, answer_offer, offer_next
from groups.meetings import propose_first_meeting, reschedule_meeting
from groups.members import Answer, answer, answer_for
from groups.places import refill
from groups.steps import ParticipantStep, close_group, participant_step
from groups.tick import TICK_LOCK, TickReport, tick

__all__ = [
    "TICK_LOCK",
    "Answer",
    "Lifecycle",
    "LifecycleConfig",
    "OfferAnswer",
    "ParticipantStep",
    "TickReport",
    "answer",
    "answer_for",
    "answer_offer",
    "close_group",
    "offer_next",
    "participant_step",
    "propose_first_meeting",
    "record_checkin",
    "record_followup",
    "refill",
    "reschedule_meeting",
    "tick",
]
