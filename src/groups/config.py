"""The runtime things every life-cycle step needs: the cipher, the link secret, the windows.

The windows themselves (:class:`LifecycleConfig`) live with the pure timing rules in
:mod:`groups.timing`, which may not import this module's cipher; they are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from groups.timing import LifecycleConfig
from intake.crypto import ContactCipher

__all__ = ["Lifecycle", "LifecycleConfig", "fill_wait_for", "meetings_for"]


@dataclass(frozen=True)
class Lifecycle:
    """What life-cycle steps need besides the session and ``now``.

    Built once, in ``samhjelp.services.Services`` (``cipher``, ``link_secret``,
    ``settings.public_base_url`` and the windows from the settings), and injected everywhere;
    groups never imports samhjelp.
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


#: The organisation rule (``organisation.rules``) for :attr:`LifecycleConfig.fill_wait`, in days.
FILL_WAIT_KEY = "small_group_meets_after_days"


def fill_wait_for(org_rules: dict[str, Any], config: LifecycleConfig) -> timedelta:
    """How long a group at its smallest size waits for its first meeting, for an organisation
    (rules JSON key :data:`FILL_WAIT_KEY`, 0–60 days) or the configured default."""
    value = org_rules.get(FILL_WAIT_KEY)
    if value is None:
        return config.fill_wait
    try:
        days = int(value)
    except (TypeError, ValueError):
        return config.fill_wait
    return timedelta(days=min(max(days, 0), 60))
