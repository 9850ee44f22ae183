"""Settings of the notify package and the factory that turns them into channels.

One pydantic-settings class, read from ``SAMHJELP_*`` environment variables and validated at
start-up, so a half-configured SMTP or SMS provider fails at boot rather than at 3 a.m. on the
first reminder.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from notify.delivery import DeliveryPolicy
from notify.folder import FolderNotifier
from notify.model import Channel, Notifier
from notify.sms import WebhookSmsNotifier
from notify.smtp import SmtpNotifier


class NotifySettings(BaseSettings):
    """Where messages go and how hard we try.

    Channel choice: with ``mail_channel="auto"`` (the default) e-mail goes over SMTP when
    ``smtp_host`` is set, otherwise into ``outbox_dir`` as ``.eml`` files; ``"smtp"`` and
    ``"folder"`` say so explicitly (production must: see :func:`check_production`). SMS goes to
    the webhook when ``sms_url`` is set, otherwise into ``outbox_dir`` as ``.sms.txt`` files.
    """

    model_config = SettingsConfigDict(env_prefix="SAMHJELP_", extra="ignore")

    mail_channel: Literal["auto", "smtp", "folder"] = "auto"
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = "samhjelp <noreply@samhjelp.invalid>"

    sms_url: str | None = None
    sms_token: SecretStr | None = None
    sms_timeout_seconds: float = Field(default=10.0, gt=0)

    outbox_dir: Path = Path("var/outbox")

    max_attempts: int = Field(default=8, ge=1)
    base_backoff_seconds: float = Field(default=60.0, gt=0)
    max_backoff_seconds: float = Field(default=6 * 3600.0, gt=0)
    lease_seconds: float = Field(default=300.0, gt=0)
    retention_days: int = Field(default=7, ge=0)
    #: Lanes per delivery worker (connections staging at once; see DeliveryPolicy.concurrency).
    delivery_lanes: int = Field(default=4, ge=1, le=64)
    #: Wait for the disk flush of each outcome record (see DeliveryPolicy.synchronous_records).
    synchronous_records: bool = False

    @model_validator(mode="after")
    def _complete(self) -> Self:
        """Refuse configurations that would only fail when the first message is sent."""
        if self.mail_channel == "smtp" and not self.smtp_host:
            raise ValueError("SAMHJELP_MAIL_CHANNEL=smtp needs SAMHJELP_SMTP_HOST")
        if self.smtp_user and self.smtp_password is None:
            raise ValueError("SAMHJELP_SMTP_USER is set but SAMHJELP_SMTP_PASSWORD is not")
        if self.sms_url:
            if not self.sms_url.startswith(("https://", "http://")):
                raise ValueError("SAMHJELP_SMS_URL must be an http(s) URL")
            if self.sms_token is None or not self.sms_token.get_secret_value().strip():
                raise ValueError("SAMHJELP_SMS_URL is set but SAMHJELP_SMS_TOKEN is not")
        # Each message has its lease for one send; the lease must outlast the slowest send or a
        # second worker could pick the message up while the first is still talking to SMTP.
        if self.lease_seconds <= max(self.smtp_timeout_seconds, self.sms_timeout_seconds) * 2:
            raise ValueError("SAMHJELP_LEASE_SECONDS must exceed twice the channel timeouts")
        return self

    def delivery_policy(self) -> DeliveryPolicy:
        """The retry and lease rules for :func:`notify.delivery.deliver_due`."""
        return DeliveryPolicy(
            max_attempts=self.max_attempts,
            base_backoff=timedelta(seconds=self.base_backoff_seconds),
            max_backoff=timedelta(seconds=self.max_backoff_seconds),
            lease=timedelta(seconds=self.lease_seconds),
            concurrency=self.delivery_lanes,
            synchronous_records=self.synchronous_records,
        )


def build_notifier(settings: NotifySettings, channel: Channel) -> Notifier:
    """The notifier that ``settings`` call for on ``channel`` (see :class:`NotifySettings`)."""
    folder = FolderNotifier(settings.outbox_dir, mail_from=settings.mail_from)
    if channel is Channel.EMAIL:
        if settings.mail_channel == "folder" or not settings.smtp_host:
            return folder
        return SmtpNotifier(
            host=settings.smtp_host,
            port=settings.smtp_port,
            mail_from=settings.mail_from,
            tls=settings.smtp_tls,
            username=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout=settings.smtp_timeout_seconds,
        )
    if not settings.sms_url or settings.sms_token is None:
        return folder
    return WebhookSmsNotifier(
        url=settings.sms_url,
        token=settings.sms_token.get_secret_value(),
        timeout=settings.sms_timeout_seconds,
    )


def check_production(settings: NotifySettings) -> None:
    """Refuse a production start that would quietly write e-mail into a folder.

    Facilitators and participants would then never hear of their group, and nothing would say
    so. The folder channel stays possible, but only when the operator chooses it by name.
    """
    if settings.mail_channel == "folder" or settings.smtp_host:
        return
    raise ValueError(
        "production sends e-mail over SMTP: set SAMHJELP_SMTP_HOST (and SAMHJELP_SMTP_TLS: "
        "starttls by default, none for a local relay, tls for port 465), or set "
        f"SAMHJELP_MAIL_CHANNEL=folder to write .eml files into {settings.outbox_dir} instead"
    )


def notifiers_from_settings(settings: NotifySettings) -> dict[Channel, Notifier]:
    """One notifier per channel; pass ``.__getitem__`` as ``notifier_for_channel``."""
    return {channel: build_notifier(settings, channel) for channel in Channel}
