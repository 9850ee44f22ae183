"""Timings of the group life cycle and the runtime things every step needs.

Defaults follow DOMAIN.md and the issue: a facilitator answers within 3 days, a participant
within 72 hours, the facilitator attends 3 meetings, follow-up after 4 weeks of self-running,
review after 6 months, contact data erased 30 days after the group runs on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from intake.crypto import ContactCipher


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    """All time windows of the life cycle (override per deployment or in tests)."""

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


@dataclass(frozen=True)
class Lifecycle:
    """What life-cycle steps need besides the session and ``now``.

    Built by the composition root from ``Services`` (``cipher``, ``extra["link_secret"]``,
    ``settings.public_base_url``); matching never imports samhjelp.
    """

    cipher: ContactCipher
    link_secret: str
    base_url: str
    config: LifecycleConfig = field(default_factory=LifecycleConfig)

    def __post_init__(self) -> None:
        if not self.link_secret:
            raise ValueError("the life cycle needs a link secret to sign links")


def meetings_for(org_rules: dict[str, Any], config: LifecycleConfig) -> int:
    """Facilitated meetings for an organisation (rules JSON key ``facilitated_meetings``)."""
    value = org_rules.get("facilitated_meetings", config.facilitated_meetings)
    try:
        n = int(value)
    except (TypeError, ValueError):
        return config.facilitated_meetings
    return min(max(n, 1), 8)
