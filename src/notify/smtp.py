"""E-mail over SMTP with aiosmtplib.

Error mapping is the heart of this module: which failures are worth retrying decides whether a
message waits for a mail server to come back or lands with the coordinator.
"""

from __future__ import annotations

import logging
import ssl
import uuid
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Literal

import aiosmtplib
from aiosmtplib.protocol import PERIOD_REGEX

from notify.mime import check_recipient, email_bytes
from notify.model import DeliveryError, RenderedMessage

log = logging.getLogger(__name__)

TlsMode = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class SmtpNotifier:
    """Sends e-mail over SMTP: :meth:`send` on a connection of its own, :meth:`session` on one
    connection reused for many messages.

    The delivery job uses :meth:`session` (one connection per lane of a batch): opening a
    connection (TCP, greeting, EHLO, STARTTLS, AUTH) costs several round trips, sending one
    message three (MAIL, RCPT, DATA). :meth:`send` stays for single messages and the channel
    contract tests.
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
        async with self.session() as session:
            await session.send(message)

    def session(self) -> SmtpSession:
        """One SMTP connection for many messages, opened at the first send, closed on exit."""
        return SmtpSession(self)

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.tls == "tls",
            start_tls=self.tls == "starttls",
            timeout=self.timeout,
        )

    def _delivery_error(self, exc: BaseException) -> DeliveryError:
        """``exc`` from aiosmtplib as a DeliveryError (codes only: server texts quote addresses)."""
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused | aiosmtplib.SMTPRecipientRefused):
            refused = exc.recipients if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) else [exc]
            codes = {err.code for err in refused}
            return DeliveryError(
                f"recipient refused ({','.join(map(str, sorted(codes)))})",
                transient=all(400 <= c < 500 for c in codes),
            )
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            # A wrong password is an operator problem, not the recipient's: keep the message
            # and let the backoff carry it until the configuration is fixed.
            self._warn(f"SMTP authentication as the configured user failed ({exc.code})")
            return DeliveryError(f"smtp authentication failed ({exc.code})", transient=True)
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return DeliveryError(f"smtp error {exc.code}", transient=not 500 <= exc.code < 600)
        self._warn(self._configuration_problem(exc))
        return DeliveryError(
            "smtp starttls not supported by server"
            if _no_starttls(exc)
            else f"smtp unavailable ({type(exc).__name__})",
            transient=True,
        )

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


#: What aiosmtplib raises for a failed send; anything else is a bug and propagates.
_SMTP_FAILURES = (aiosmtplib.SMTPException, OSError, TimeoutError)


class SmtpSession:
    """One SMTP connection reused for the messages of one lane of a delivery batch.

    A message goes in two steps (:meth:`stage`, then :meth:`Handover.complete`): the envelope
    and the whole body first, the end of DATA (``.``) later. A mail server takes
    responsibility for a message only when it answers that last line, and drops a message whose
    connection closes before it: so many lanes can stage at once while the delivery job hands
    over, and records, one message at a time per worker. Only one message per connection is
    ever staged. Any failure drops the connection (a refused recipient or a 4xx may leave the
    SMTP transaction half done) and the next message opens a fresh one. A reused connection the
    server closed while idle (a relay's idle timeout) is reopened and the message staged once
    more on the new connection: nothing had been handed over yet.
    """

    def __init__(self, notifier: SmtpNotifier) -> None:
        self._notifier = notifier
        self._smtp: aiosmtplib.SMTP | None = None
        self._staged = False
        self._sender = parseaddr(notifier.mail_from)[1]  # the envelope's, parsed once
        #: Connections opened, for tests and the benchmark.
        self.connections = 0

    async def __aenter__(self) -> SmtpSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(self, message: RenderedMessage) -> None:
        """Send one e-mail on this session's connection; errors as :meth:`SmtpNotifier.send`."""
        await (await self.stage(message)).complete()

    async def stage(self, message: RenderedMessage) -> Handover:
        """Everything but the end of DATA: connect if needed, MAIL, RCPT, DATA and the body.

        Raises DeliveryError as :meth:`SmtpNotifier.send` does; nothing is delivered until
        :meth:`Handover.complete`, and :meth:`Handover.abandon` withdraws the message.
        """
        if self._staged:
            raise RuntimeError("one message at a time per SMTP session")
        mail = PERIOD_REGEX.sub(b"..", email_bytes(message, mail_from=self._notifier.mail_from))
        envelope = (self._sender, check_recipient(message))
        if not (self._sender.isascii() and envelope[1].isascii()):
            raise DeliveryError("non-ASCII address (SMTPUTF8 is not used)", transient=False)
        reused = self._smtp is not None
        try:
            try:
                await self._stage(mail, *envelope)
            except aiosmtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                self._drop()
                await self._stage(mail, *envelope)
        except _SMTP_FAILURES as exc:
            self._drop()
            raise self._notifier._delivery_error(exc) from None
        self._staged = True
        return Handover(self, message.message_id)

    async def _stage(self, mail: bytes, sender: str, recipient: str) -> None:
        if self._smtp is None:
            smtp = self._notifier._client()
            self.connections += 1
            try:
                await smtp.connect()
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        smtp = self._smtp
        if smtp.is_ehlo_or_helo_needed:
            await smtp.ehlo()
        # MAIL and RCPT as plain commands: aiosmtplib's mail() and rcpt() re-parse both
        # addresses with the email package every time (~0.1 ms a message). Both are checked
        # already (check_recipient; the sender once per session) and hold no <>, space or CRLF.
        answer = await smtp.execute_command(b"MAIL", b"FROM:<" + sender.encode("ascii") + b">")
        if answer.code != 250:
            raise aiosmtplib.SMTPSenderRefused(answer.code, answer.message, sender)
        answer = await smtp.execute_command(b"RCPT", b"TO:<" + recipient.encode("ascii") + b">")
        if answer.code not in (250, 251):
            raise aiosmtplib.SMTPRecipientRefused(answer.code, answer.message, recipient)
        answer = await smtp.execute_command(b"DATA")
        if answer.code != 354:
            raise aiosmtplib.SMTPDataError(answer.code, answer.message)
        assert smtp.protocol is not None
        smtp.protocol.write(mail)  # ends in CRLF: the end of DATA is one line more

    async def _complete(self, message_id: uuid.UUID) -> None:
        self._staged = False
        try:
            if self._smtp is None:
                raise aiosmtplib.SMTPServerDisconnected("connection dropped while staged")
            # The end of DATA is the line "." after the body; sent as a command it is exactly
            # that line, and its answer is the server's verdict on the message.
            answer = await self._smtp.execute_command(b".")
            if answer.code != 250:
                raise aiosmtplib.SMTPDataError(answer.code, answer.message)
        except _SMTP_FAILURES as exc:
            self._drop()
            raise self._notifier._delivery_error(exc) from None
        log.debug("sent e-mail %s via smtp", message_id)

    def _drop(self) -> None:
        self._staged = False
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    async def close(self) -> None:
        """QUIT politely; a server that went away meanwhile is no error at this point. With a
        message still staged the connection is only closed: a QUIT would be read as body text
        (and closing is what withdraws the message)."""
        if self._staged:
            self._drop()
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            await smtp.quit()
        except _SMTP_FAILURES:
            smtp.close()


@dataclass(frozen=True, slots=True)
class Handover:
    """A staged e-mail: :meth:`complete` hands it over, :meth:`abandon` withdraws it."""

    session: SmtpSession
    message_id: uuid.UUID

    async def complete(self) -> None:
        await self.session._complete(self.message_id)

    def abandon(self) -> None:
        self.session._drop()


def _no_starttls(exc: BaseException) -> bool:
    return isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS" in str(exc).upper()
