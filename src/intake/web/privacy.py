"""What the pages promise about personal data, from the deployment's own settings.

The privacy page, the receipt and the status page state the data controller and the retention
times. They get them from here, filled in by the composition root, so a page can never quote a
time the service does not use (``erase_after_days`` is the life cycle's own setting, and
``message_retention_days`` the outbox housekeeping's).
"""

from __future__ import annotations

from dataclasses import dataclass

from intake import nudges
from intake.idempotency import RETENTION
from intake.registry import Controller


@dataclass(frozen=True, slots=True)
class PrivacyTerms:
    """The national controller and the retention times the pages quote."""

    national: Controller
    #: Days after a group runs on its own or is closed until its members' registrations go.
    erase_after_days: int = 30
    #: Days a delivered message keeps its (encrypted) address before it is scrubbed.
    message_retention_days: int = 7
    #: Hours an API answer is kept (encrypted) to replay a repeated request.
    idempotency_hours: int = int(RETENTION.total_seconds() // 3600)
    #: Suggestion messages (opt-in): at most one in this many days; their links work this long.
    suggestion_interval_days: int = nudges.INTERVAL.days
    suggestion_link_days: int = nudges.LINK_VALID.days
