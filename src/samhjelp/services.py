"""The service objects of one process, each built once here and injected everywhere.

Pages, API handlers, scheduled jobs and command-line commands all take the same
:class:`Services`; none of them builds its own life cycle, so a configured window (say
``SAMHJELP_FACILITATED_MEETINGS=1``) cannot be honoured by one entry point and silently lost
by another.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from groups import Lifecycle, LifecycleConfig
from groups.progress import GroupProgress
from intake.crypto import ContactCipher
from intake.progress import Progress, Suggestions
from intake.recovery import Recovery
from matching.job import Planner
from matching.suggestions import MatchingSuggestions
from notify import Channel, Notifier
from notify.codes import OutboxCodeSender
from notify.memory import MemoryNotifier
from notify.settings import NotifySettings
from samhjelp.settings import Settings
from staff.config import OidcProvider, StaffConfig


def utc_now() -> datetime:
    return datetime.now(UTC)


def lifecycle_config(settings: Settings) -> LifecycleConfig:
    """The life cycle's windows from settings (the rest keep their defaults)."""
    return LifecycleConfig(
        facilitator_window=timedelta(days=settings.facilitator_window_days),
        # The reminder goes out two thirds into the window (2 of the default 3 days).
        facilitator_reminder_after=timedelta(days=settings.facilitator_window_days) * 2 / 3,
        reply_window=timedelta(hours=settings.reply_window_hours),
        facilitated_meetings=settings.facilitated_meetings,
        erase_after=timedelta(days=settings.erase_contacts_after_days),
    )


def staff_config(settings: Settings) -> StaffConfig:
    """The console's timeouts and identity providers from settings."""
    return StaffConfig(
        base_url=settings.public_base_url,
        idle_timeout=timedelta(minutes=settings.staff_idle_minutes),
        absolute_timeout=timedelta(hours=settings.staff_session_hours),
        link_ttl=timedelta(minutes=settings.staff_link_minutes),
        link_requests=settings.staff_link_requests,
        oidc_providers=tuple(
            OidcProvider(
                slug=p.slug,
                name=p.name,
                discovery_url=p.discovery_url,
                client_id=p.client_id,
                client_secret=p.client_secret.get_secret_value(),
            )
            for p in settings.oidc_providers
        ),
    )


def memory_notifiers() -> dict[Channel, Notifier]:
    """In-memory channels: what a test's services send through unless it says otherwise."""
    return {channel: MemoryNotifier() for channel in Channel}


@dataclass
class Services:
    """Everything a request, job or command needs, built once at start-up.

    ``samhjelp.bootstrap.build_services`` fills every field from the deployment's settings;
    tests build their own and may leave the defaults. ``lifecycle`` and ``progress`` are
    derived in one place, :meth:`__post_init__` (``dataclasses.replace`` rebuilds them, so a
    copy with other settings never keeps stale windows).
    """

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    cipher: ContactCipher
    clock: Callable[[], datetime] = utc_now
    #: Signs links in messages and derives the CSRF secret. None: ``settings.link_secret``,
    #: else a random one for this process (tests; production always has one, see Settings).
    link_secret: str | None = None
    notify: NotifySettings = field(default_factory=NotifySettings)
    notifiers: Mapping[Channel, Notifier] = field(default_factory=memory_notifiers)
    #: Where the matching core runs; None runs it inline (command line, tests).
    planner: Planner | None = None
    lifecycle: Lifecycle = field(init=False)
    #: Intake's port to the packages above it (why still waiting, which step, withdraw).
    progress: Progress = field(init=False)
    #: Intake's port for re-sending a lost receipt code, with its per-process rate limits.
    recovery: Recovery = field(init=False)
    #: Intake's port to the changes of choices that would place a waiting person, and the
    #: re-check (a matching run at once, on this sessionmaker and planner) after one is made.
    suggestions: Suggestions = field(init=False)
    #: The staff console's timeouts and identity providers.
    staff: StaffConfig = field(init=False)

    def __post_init__(self) -> None:
        self.link_secret = (
            self.link_secret or self.settings.link_secret or secrets.token_urlsafe(32)
        )
        self.lifecycle = Lifecycle(
            cipher=self.cipher,
            link_secret=self.link_secret,
            base_url=self.settings.public_base_url,
            config=lifecycle_config(self.settings),
        )
        self.progress = GroupProgress(self.lifecycle)
        self.recovery = Recovery(OutboxCodeSender(self.cipher))
        self.suggestions = MatchingSuggestions(self.sessionmaker, self.planner)
        self.staff = staff_config(self.settings)
