"""What the pages promise about personal data, from the deployment's own settings.

The privacy page, the receipt and the status page state the data controller and the retention
times. They get them from here, filled in by the composition root, so a page can never quote a
time the service does not use (``erase_after_days`` is the life cycle's own setting, and
``message_retention_days`` the outbox housekeeping's). How long a waiting registration is kept
(:func:`lapse_policy`) is read from the same settings the lapse job uses, and every page gets
it in words (:func:`periods`) through ``intake.web.pages.render``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from intake import lapse, nudges
from intake.idempotency import RETENTION
from intake.registry import Controller
from intake.web.i18n import Translator


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


def lapse_policy(request: Request[Any, Any, Any]) -> lapse.LapsePolicy:
    """The configured keeping time of a waiting registration (``SAMHJELP_LAPSE_AFTER_DAYS``,
    ``SAMHJELP_LAPSE_NOTICE_DAYS``), from the composition root's settings: the same values the
    lapse job gets (``samhjelp.jobs``); the defaults where an app has no settings."""
    services = getattr(request.app.state, "services", None)
    return lapse.LapsePolicy.of(getattr(services, "settings", None))


def periods(t: Translator, policy: lapse.LapsePolicy) -> dict[str, str]:
    """The keeping time and the notice in words ("a year", "a month", else in days), so the
    pages say exactly what the configured job does."""

    def words(days: int) -> str:
        if days == 365:
            return t.gettext("a year")
        if days == 30:
            return t.gettext("a month")
        return t.ngettext("%(num)d day", "%(num)d days", days)

    return {
        "keep_period": words(policy.after.days),
        "notice_period": words(policy.notice.days),
    }
