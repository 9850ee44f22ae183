"""E-mail over SMTP with aiosmtplib.

Error mapping is the heart of this module: which failures are worth retrying decides whether a
message waits for a mail server to come back or lands with the coordinator.
"""

from __future__ import annotations

import logging
import ssl
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
            self._warn(f"SMTP authentication as the configured user failed ({exc.code})")
            raise DeliveryError(
                f"smtp authentication failed ({exc.code})", transient=True
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            # Only the code: server texts often quote the recipient address.
            raise DeliveryError(
                f"smtp error {exc.code}", transient=not 500 <= exc.code < 600
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            cause = self._configuration_problem(exc)
            self._warn(cause)
            raise DeliveryError(
                "smtp starttls not supported by server"
                if _no_starttls(exc)
                else f"smtp unavailable ({type(exc).__name__})",
                transient=True,
            ) from None
        log.debug("sent e-mail %s via smtp", message.message_id)

    def _configuration_problem(self, exc: BaseException) -> str:
        """The likely cause in the operator's words (never the server's text: it may quote
        the recipient)."""
        where = f"{self.host}:{self.port}"
        if _no_starttls(exc):
            return (
                f"SMTP STARTTLS failed: the server at {where} does not offer STARTTLS "
                "(SAMHJELP_SMTP_TLS=starttls is the default). Set SAMHJELP_SMTP_TLS=none for a "
                "local relay without TLS, or SAMHJELP_SMTP_TLS=tls for implicit TLS (port 465)"
            )
        if isinstance(exc, ssl.SSLError) or isinstance(exc.__cause__, ssl.SSLError):
            return (
                f"SMTP TLS handshake with {where} failed ({type(exc).__name__}); check "
                f"SAMHJELP_SMTP_TLS (now {self.tls}: 'tls' is implicit TLS, usually port 465; "
                "'starttls' usually port 587)"
            )
        if isinstance(exc, TimeoutError | aiosmtplib.SMTPTimeoutError):
            return f"SMTP server at {where} did not answer within {self.timeout:g} s"
        return (
            f"SMTP server at {where} is unreachable or refused the session "
            f"({type(exc).__name__}); check SAMHJELP_SMTP_HOST and SAMHJELP_SMTP_PORT"
        )

    def _warn(self, cause: str) -> None:
        # A warning per failed attempt: the outbox only records "retrying", and a
        # misconfigured relay must be visible in the log on the first message.
        log.warning(cause, extra={"smtp_host": self.host, "smtp_port": self.port})


def _no_starttls(exc: BaseException) -> bool:
    return isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS" in str(exc).upper()
