"""SMTP misconfiguration is loud: the cause is logged, production refuses to run without SMTP.

Against a real SMTP server (aiosmtpd in-process) that, like most local relays, offers no
STARTTLS. The README's variables alone (host and port) use the STARTTLS default.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from notify.folder import FolderNotifier
from notify.model import Channel, DeliveryError, RenderedMessage
from notify.settings import NotifySettings, build_notifier, check_production
from notify.smtp import SmtpNotifier
from notify.testing import RecordingSmtpServer, free_port

RECIPIENT = "mottaker.hemmelig@example.no"


def message() -> RenderedMessage:
    return RenderedMessage(
        message_id=uuid.uuid4(),
        channel=Channel.EMAIL,
        to=RECIPIENT,
        subject="Test",
        text="Hei",
        date=datetime(2026, 12, 1, tzinfo=UTC),
    )


async def test_starttls_against_a_plain_server_logs_the_cause_as_a_warning(
    smtp_server: RecordingSmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = NotifySettings(smtp_host="127.0.0.1", smtp_port=smtp_server.port)
    notifier = build_notifier(settings, Channel.EMAIL)
    assert isinstance(notifier, SmtpNotifier) and notifier.tls == "starttls"
    caplog.set_level(logging.DEBUG)

    with pytest.raises(DeliveryError) as failed:
        await notifier.send(message())

    assert "starttls" in failed.value.reason.lower()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, caplog.text
    text = warnings[0].getMessage()
    assert "STARTTLS" in text and "SAMHJELP_SMTP_TLS=none" in text
    assert f"127.0.0.1:{smtp_server.port}" in text
    assert RECIPIENT not in caplog.text and "mottaker" not in caplog.text
    assert smtp_server.messages == []


async def test_tls_none_against_the_same_server_delivers(
    smtp_server: RecordingSmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = NotifySettings(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_tls="none")
    caplog.set_level(logging.WARNING)
    await build_notifier(settings, Channel.EMAIL).send(message())
    assert len(smtp_server.messages) == 1 and not caplog.records


async def test_an_unreachable_server_is_a_warning_naming_host_and_port(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()  # nothing listens here
    notifier = SmtpNotifier("127.0.0.1", port, "noreply@example.no", tls="none", timeout=5)
    caplog.set_level(logging.WARNING)
    with pytest.raises(DeliveryError) as failed:
        await notifier.send(message())
    assert failed.value.transient
    assert any(f"127.0.0.1:{port}" in r.getMessage() for r in caplog.records), caplog.text
    assert RECIPIENT not in caplog.text


def test_production_refuses_to_start_without_smtp(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SAMHJELP_SMTP_HOST") as refused:
        check_production(NotifySettings(outbox_dir=tmp_path))
    assert "SAMHJELP_MAIL_CHANNEL=folder" in str(refused.value)


def test_production_runs_with_smtp_or_an_explicit_folder_channel(tmp_path: Path) -> None:
    check_production(NotifySettings(smtp_host="smtp.example.no"))
    chosen = NotifySettings(mail_channel="folder", outbox_dir=tmp_path)
    check_production(chosen)
    assert isinstance(build_notifier(chosen, Channel.EMAIL), FolderNotifier)


def test_mail_channel_smtp_without_a_host_is_refused_everywhere() -> None:
    with pytest.raises(ValidationError, match="SAMHJELP_SMTP_HOST"):
        NotifySettings(mail_channel="smtp")
