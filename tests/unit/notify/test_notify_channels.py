"""Channel-specific behaviour beyond the shared contract: status mapping and MIME details."""

from __future__ import annotations

import email
import email.policy
import uuid

import pytest
from notify_harness import ics_attachment, make_message

from notify.mime import build_email
from notify.model import Channel, DeliveryError
from notify.sms import WebhookSmsNotifier
from notify.testing import RecordingSmsServer


@pytest.mark.parametrize(
    ("status", "transient"),
    [(500, True), (503, True), (429, True), (400, False), (403, False), (404, False)],
)
async def test_sms_provider_status_decides_retry(status: int, transient: bool) -> None:
    server = RecordingSmsServer()
    server.status_override = status
    await server.start()
    try:
        with pytest.raises(DeliveryError) as caught:
            await WebhookSmsNotifier(server.url, "test-token").send(
                make_message(Channel.SMS, "+4791234567")
            )
    finally:
        await server.stop()
    assert caught.value.transient is transient
    assert str(status) in caught.value.reason


async def test_sms_sends_bearer_token_and_idempotency_key() -> None:
    server = RecordingSmsServer()
    await server.start()
    message = make_message(Channel.SMS, "+47 912 34 567")
    try:
        await WebhookSmsNotifier(server.url, "test-token").send(message)
    finally:
        await server.stop()
    [request] = server.requests
    assert request["headers"]["authorization"] == "Bearer test-token"
    assert request["headers"]["idempotency-key"] == str(message.message_id)
    assert request["body"] == {
        "to": "+4791234567",
        "text": message.text,
        "idempotency_key": str(message.message_id),
    }


async def test_wrong_sms_token_is_permanent() -> None:
    server = RecordingSmsServer()
    await server.start()
    try:
        with pytest.raises(DeliveryError) as caught:
            await WebhookSmsNotifier(server.url, "wrong").send(
                make_message(Channel.SMS, "+4791234567")
            )
    finally:
        await server.stop()
    assert not caught.value.transient


def test_email_headers_carry_the_stable_id_and_date() -> None:
    message_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    message = make_message(
        Channel.EMAIL, "a@example.no", message_id=message_id, attachments=(ics_attachment(),)
    )

    raw = build_email(message, mail_from="samhjelp <noreply@example.no>").as_bytes()
    mail = email.message_from_bytes(raw, policy=email.policy.default)

    assert mail["Message-ID"] == "<12345678-1234-5678-1234-567812345678@samhjelp>"
    assert mail["Date"] == "Mon, 23 Nov 2026 09:00:00 +0000"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_body(("html",)) is not None  # type: ignore[attr-defined]
    [attachment] = list(mail.iter_attachments())  # type: ignore[attr-defined]
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"


def test_same_message_builds_identical_bytes() -> None:
    """A resend is byte-for-byte the same e-mail, so dedupe by Message-ID is safe."""
    message = make_message(Channel.EMAIL, "a@example.no")
    first = build_email(message, mail_from="x <x@example.no>").as_bytes()
    second = build_email(message, mail_from="x <x@example.no>").as_bytes()
    assert first == second


def test_header_injection_is_refused() -> None:
    with pytest.raises(DeliveryError):
        build_email(
            make_message(Channel.EMAIL, "a@example.no\nBcc: b@example.no"), mail_from="x@example.no"
        )


def test_rendered_message_repr_hides_the_address() -> None:
    assert "a@example.no" not in repr(make_message(Channel.EMAIL, "a@example.no"))
