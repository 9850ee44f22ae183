"""The life cycle of a start group, from proposal to a group that runs on its own.

See docs/lifecycle.md. The scheduled :func:`tick` moves time-based steps; the link pages
(:mod:`matching.pages`) call the answer functions; intake's status page calls
:func:`participant_step`.
"""

from matching.lifecycle.config import Lifecycle, LifecycleConfig
from matching.lifecycle.facilitators import OfferAnswer, answer_offer, offer_next
from matching.lifecycle.meetings import (
    propose_first_meeting,
    record_checkin,
    record_followup,
    reschedule_meeting,
)
from matching.lifecycle.members import Answer, answer, answer_for, refill
from matching.lifecycle.steps import ParticipantStep, close_group, participant_step
from matching.lifecycle.tick import TICK_LOCK, TickReport, tick

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
