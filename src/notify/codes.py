"""Sending a new receipt code: the implementation of intake's ``CodeSender`` port.

One message per registration, referenced as ``interest:<id>`` like every message to a
participant, so withdrawing (erasure) scrubs the message and the code in it from the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from intake.crypto import ContactCipher
from intake.recovery import NewCode
from notify.model import Channel, OutgoingMessage, seal_address
from notify.outbox import enqueue


class OutboxCodeSender:
    """Queues the ``receipt_code`` message in the caller's transaction."""

    def __init__(self, cipher: ContactCipher) -> None:
        self.cipher = cipher

    async def send_codes(
        self,
        session: AsyncSession,
        *,
        kind: Literal["email", "sms"],
        address: str,
        codes: Sequence[NewCode],
        lang: str,
        now: datetime,
    ) -> None:
        channel = Channel.EMAIL if kind == "email" else Channel.SMS
        for new in codes:
            await enqueue(
                session,
                OutgoingMessage(
                    channel=channel,
                    recipient=seal_address(self.cipher, address),
                    template="receipt_code",
                    lang=lang,
                    context={"code": new.code, "org_name": new.organisation_name or ""},
                    recipient_ref=f"interest:{new.interest_id}",
                    organisation_id=new.organisation_id,
                ),
                now=now,
            )
