"""The runtime things every life-cycle step needs: the cipher, the link secret, the windows.

The windows themselves (:class:`LifecycleConfig`) live with the pure timing rules in
:mod:`groups.timing`, which may not import this module's cipher; they are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from groups.timing import LifecycleConfig
from intake.crypto import ContactCipher

__all__ = ["Lifecycle", "LifecycleConfig", "meetings_for"]


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
