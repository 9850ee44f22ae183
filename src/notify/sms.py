"""SMS through a generic JSON webhook.

Norwegian SMS gateways differ in detail but all accept "POST some JSON with a bearer token", so
one adapter with a documented body covers them; a provider-specific adapter can replace it later
behind the same ``Notifier`` protocol.

Request: ``POST <url>`` with ``Authorization: Bearer <token>``, ``Idempotency-Key: <uuid>`` and
body ``{"to": "+47...", "text": "...", "idempotency_key": "<uuid>"}``. Any 2xx is success.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from notify.mime import check_recipient
from notify.model import DeliveryError, RenderedMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookSmsNotifier:
    """Posts each SMS to the provider; 5xx, 429 and network trouble are transient, 4xx not."""

    url: str
    token: str
    timeout: float = 10.0

    async def send(self, message: RenderedMessage) -> None:
        """Send one SMS, using the message id as the provider's idempotency key."""
        to = check_recipient(message)
        key = str(message.message_id)
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(
                    self.url,
                    json={"to": to, "text": message.text, "idempotency_key": key},
                    headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key},
                )
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"sms provider unreachable ({type(exc).__name__})", transient=True
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            log.debug("sent sms %s via webhook", message.message_id)
            return
        # 429 is the provider asking us to slow down, which is exactly what backoff does.
        transient = status >= 500 or status in (408, 425, 429)
        raise DeliveryError(f"sms provider answered {status}", transient=transient)
