"""The contract every channel honours; the same tests run against each (see conftest)."""

from __future__ import annotations

import pytest
from notify_harness import Harness, ics_attachment, make_message

from notify.mime import normalise_phone
from notify.model import Channel, DeliveryError


def _same_address(harness: Harness, got: str) -> bool:
    if harness.channel is Channel.SMS:
        return normalise_phone(got) == normalise_phone(harness.valid_to)
    return got == harness.valid_to


def _expected_id(harness: Harness, message_id: object) -> str:
    return f"<{message_id}@samhjelp>" if harness.channel is Channel.EMAIL else str(message_id)


async def test_sent_message_arrives_once_with_its_id_and_content(harness: Harness) -> None:
    message = make_message(harness.channel, harness.valid_to)

    await harness.notifier.send(message)

    [got] = harness.received()
    assert got.message_id == _expected_id(harness, message.message_id)
    assert _same_address(harness, got.to)
    assert got.text == message.text
    if harness.channel is Channel.EMAIL:
        assert got.subject == message.subject


async def test_down_endpoint_is_transient_and_recovers(harness: Harness) -> None:
    message = make_message(harness.channel, harness.valid_to)
    await harness.down()

    with pytest.raises(DeliveryError) as caught:
        await harness.notifier.send(message)
    assert caught.value.transient
    assert harness.valid_to not in str(caught.value)

    await harness.up()
    await harness.notifier.send(message)
    assert [r.message_id for r in harness.received()] == [_expected_id(harness, message.message_id)]


async def test_malformed_address_is_permanent(harness: Harness) -> None:
    with pytest.raises(DeliveryError) as caught:
        await harness.notifier.send(make_message(harness.channel, harness.invalid_to))
    assert not caught.value.transient
    assert harness.received() == []


async def test_refused_recipient_is_permanent(harness: Harness) -> None:
    if harness.refused_to is None:
        pytest.skip("this channel has no far end that could refuse a recipient")
    with pytest.raises(DeliveryError) as caught:
        await harness.notifier.send(make_message(harness.channel, harness.refused_to))
    assert not caught.value.transient
    assert harness.refused_to not in caught.value.reason
    assert harness.received() == []


async def test_resend_carries_the_same_id(harness: Harness) -> None:
    """At-least-once: a resend after a crash must be recognisable as the same message."""
    message = make_message(harness.channel, harness.valid_to)

    await harness.notifier.send(message)
    await harness.notifier.send(message)

    ids = {r.message_id for r in harness.received()}
    assert ids == {_expected_id(harness, message.message_id)}


async def test_calendar_attachment_arrives_with_email(harness: Harness) -> None:
    if harness.channel is not Channel.EMAIL:
        pytest.skip("SMS carries no attachments")
    message = make_message(harness.channel, harness.valid_to, attachments=(ics_attachment(),))

    await harness.notifier.send(message)

    [got] = harness.received()
    assert got.attachments == ("text/calendar",)
