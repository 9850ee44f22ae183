"""Backoff schedule and settings: pure functions, no I/O."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from notify.delivery import DeliveryPolicy, backoff_delay
from notify.folder import FolderNotifier
from notify.model import Channel
from notify.settings import NotifySettings, build_notifier, notifiers_from_settings
from notify.sms import WebhookSmsNotifier
from notify.smtp import SmtpNotifier

POLICY = DeliveryPolicy(base_backoff=timedelta(minutes=1), max_backoff=timedelta(hours=1))
ID = uuid.UUID("8efb8060-4b02-4afc-ba61-6ca9970752c2")


def test_backoff_is_reproducible() -> None:
    assert backoff_delay(ID, 3, policy=POLICY) == backoff_delay(ID, 3, policy=POLICY)


@pytest.mark.parametrize("attempt", range(1, 12))
def test_backoff_stays_within_equal_jitter_bounds(attempt: int) -> None:
    step = min(POLICY.max_backoff, POLICY.base_backoff * 2 ** (attempt - 1))
    assert step / 2 <= backoff_delay(ID, attempt, policy=POLICY) <= step


def test_backoff_grows_then_caps() -> None:
    delays = [backoff_delay(ID, n, policy=POLICY) for n in range(1, 12)]
    assert delays[0] < timedelta(minutes=1) < delays[2] < delays[4]
    assert max(delays) <= timedelta(hours=1)
    assert delays[-1] >= timedelta(minutes=30)


def test_jitter_spreads_messages_that_fail_together() -> None:
    delays = {backoff_delay(uuid.uuid4(), 4, policy=POLICY) for _ in range(50)}
    assert len(delays) == 50


def test_attempt_is_one_based() -> None:
    with pytest.raises(ValueError):
        backoff_delay(ID, 0, policy=POLICY)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "SAMHJELP_SMTP_HOST": "smtp.example.no",
        "SAMHJELP_SMTP_PORT": "465",
        "SAMHJELP_SMTP_TLS": "tls",
        "SAMHJELP_SMTP_USER": "samhjelp",
        "SAMHJELP_SMTP_PASSWORD": "s3cret",
        "SAMHJELP_SMS_URL": "https://sms.example.no/send",
        "SAMHJELP_SMS_TOKEN": "tok",
        "SAMHJELP_MAX_ATTEMPTS": "5",
    }.items():
        monkeypatch.setenv(key, value)
    settings = NotifySettings()
    email = build_notifier(settings, Channel.EMAIL)
    sms = build_notifier(settings, Channel.SMS)
    assert isinstance(email, SmtpNotifier)
    assert (email.host, email.port, email.tls, email.password) == (
        "smtp.example.no",
        465,
        "tls",
        "s3cret",
    )
    assert isinstance(sms, WebhookSmsNotifier) and sms.token == "tok"
    assert settings.delivery_policy().max_attempts == 5
    assert "s3cret" not in repr(settings)


def test_without_providers_both_channels_write_files(tmp_path: Path) -> None:
    notifiers = notifiers_from_settings(NotifySettings(outbox_dir=tmp_path))
    assert all(isinstance(n, FolderNotifier) for n in notifiers.values())
    assert set(notifiers) == set(Channel)


@pytest.mark.parametrize(
    "values",
    [
        {"sms_url": "https://sms.example.no"},
        {"sms_url": "ftp://sms.example.no", "sms_token": "t"},
        {"smtp_host": "smtp.example.no", "smtp_user": "u"},
        {"smtp_tls": "ssl"},
        {"lease_seconds": 30},
    ],
)
def test_incomplete_settings_fail_at_start(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        NotifySettings(**values)  # type: ignore[arg-type]
