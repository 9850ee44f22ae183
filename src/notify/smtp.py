"""E-mail over SMTP with aiosmtplib.

Error mapping is the heart of this module: which failures are worth retrying decides whether a
message waits for a mail server to come back or lands with the coordinator.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import aiosmtplib

from notify.mime import build_email
from notify.model import DeliveryError, RenderedMessage

log = logging.getLogger(__name__)

TlsMode = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class SmtpNotifier:
    """Sends each message on its own SMTP connection.

    One connection per message keeps failure handling simple (no half-broken shared connection)
    and is fast enough: see the throughput figures in docs/notify.md.
    """

    host: str
    port: int
    mail_from: str
    tls: TlsMode = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0

    async def send(self, message: RenderedMessage) -> None:
        """Send one e-mail; raise DeliveryError with ``transient`` set from the SMTP reply."""
        mail = build_email(message, mail_from=self.mail_from)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.tls == "tls",
                start_tls=self.tls == "starttls",
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = {err.code for err in exc.recipients}
            raise DeliveryError(
                f"recipient refused ({','.join(map(str, sorted(codes)))})",
                transient=all(400 <= c < 500 for c in codes),
            ) from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            # A wrong password is an operator problem, not the recipient's: keep the message
            # and let the backoff carry it until the configuration is fixed.
            raise DeliveryError(
                f"smtp authentication failed ({exc.code})", transient=True
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            # Only the code: server texts often quote the recipient address.
            raise DeliveryError(
                f"smtp error {exc.code}", transient=not 500 <= exc.code < 600
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(
                f"smtp unavailable ({type(exc).__name__})", transient=True
            ) from None
        log.debug("sent e-mail %s via smtp", message.message_id)
