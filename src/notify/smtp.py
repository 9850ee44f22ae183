"""E-mail over SMTP with aiosmtplib.

Error mapping is the heart of this module: which failures are worth retrying decides whether a
message waits for a mail server to come back or lands with the coordinator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid
from collections import deque
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Literal, cast

import aiosmtplib

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
    #: Connections left open between a delivery batch and the next (issue 12).
    _idle: _IdleConnections = field(
        default_factory=lambda: _IdleConnections(), init=False, repr=False, compare=False
    )

    async def send(self, message: RenderedMessage) -> None:
        """Send one e-mail; raise DeliveryError with ``transient`` set from the SMTP reply."""
        async with self.session() as session:
            await session.send(message)

    def session(self) -> SmtpSession:
        """One SMTP connection for many messages, taken at the first send (an idle one this
        notifier kept open, else a new one) and kept open for the next session on exit."""
        return SmtpSession(self)

    def close_idle(self) -> None:
        """QUIT the connections kept open between sessions now (they go by themselves after
        IDLE_SECONDS unused)."""
        self._idle.close_all()

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


#: What a failed send raises; anything else is a bug and propagates.
_SMTP_FAILURES = (aiosmtplib.SMTPException, OSError, TimeoutError)

#: A reply longer than this is garbage, not SMTP (aiosmtplib's own limit).
_MAX_REPLY = 8192


class _Replies(asyncio.Protocol):
    """The client side of a connection once it is set up: writes commands, collects reply codes.

    aiosmtplib opens the connection (greeting, EHLO, STARTTLS, AUTH) and then hands its
    transport to this protocol, because aiosmtplib reads exactly one reply per command written
    and so cannot pipeline (RFC 2920): replies to commands written together are kept here in
    order until they are asked for. Only the codes are kept: server texts often quote the
    address.
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self._loop = asyncio.get_running_loop()
        self._buffer = bytearray()
        self._codes: deque[int] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._want = 0
        self._lost: aiosmtplib.SMTPException | None = None
        transport.set_protocol(self)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        while (end := buffer.find(b"\n", start)) != -1:
            line = buffer[start : end + 1]
            start = end + 1
            if line[3:4] == b"-":
                continue  # a multi-line reply goes on; its last line has the code
            try:
                self._codes.append(int(line[:3]))
            except ValueError:
                self._fail(aiosmtplib.SMTPResponseException(-1, "malformed SMTP reply"))
                return
        del buffer[:start]
        if len(buffer) > _MAX_REPLY:
            self._fail(aiosmtplib.SMTPResponseException(-1, "SMTP reply too long"))
            return
        waiter = self._waiter
        if waiter is not None and len(self._codes) >= self._want and not waiter.done():
            waiter.set_result(None)

    def eof_received(self) -> bool:
        self._fail(aiosmtplib.SMTPServerDisconnected("unexpected EOF"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(aiosmtplib.SMTPServerDisconnected("connection lost"))

    def _fail(self, exc: aiosmtplib.SMTPException) -> None:
        if self._lost is None:
            self._lost = exc
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def write(self, data: bytes) -> None:
        if self._lost is not None:
            raise self._lost
        self.transport.write(data)

    async def codes(self, n: int, within: float) -> list[int]:
        """The next ``n`` reply codes, in the order of the commands written."""
        while len(self._codes) < n:
            if self._lost is not None:
                raise self._lost
            self._waiter, self._want = self._loop.create_future(), n
            handle = self._loop.call_later(within, self._time_out, self._waiter)
            try:
                await self._waiter
            finally:
                handle.cancel()
                self._waiter = None
        return [self._codes.popleft() for _ in range(n)]

    @staticmethod
    def _time_out(waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(aiosmtplib.SMTPReadTimeoutError("no SMTP reply in time"))

    def close(self) -> None:
        self._lost = self._lost or aiosmtplib.SMTPServerDisconnected("connection closed")
        self.transport.close()

    def idle(self) -> bool:
        """Open, on this loop, with no reply pending: fit to start the next message."""
        return (
            self._lost is None
            and not self.transport.is_closing()
            and not self._codes
            and self._waiter is None
            and not self._buffer
            and self._loop is asyncio.get_running_loop()
        )


#: How long a connection stays open unused, and how many are kept. Long enough to carry a
#: drain of the outbox from one batch to the next (milliseconds apart), short enough not to
#: hold a relay's connection slots between delivery runs.
IDLE_SECONDS = 10.0
MAX_IDLE = 16


class _IdleConnections:
    """The connections of one notifier between sessions: a batch's lanes end their sessions
    and the next batch's lanes take the connections up again, so a drain of the outbox opens
    one connection per lane instead of one per lane and batch (each costs the relay and us a
    TCP handshake, the greeting, EHLO, STARTTLS and AUTH). A connection comes back only
    between messages (nothing staged, no reply pending). One the server closed while idle is
    noticed when taken, or at the first command, where a session reopens and stages again:
    nothing had been handed over on it."""

    def __init__(self) -> None:
        self._kept: list[tuple[_Replies, bool, float]] = []
        self._timer: asyncio.TimerHandle | None = None

    def take(self) -> tuple[_Replies, bool] | None:
        """The most recently used idle connection and whether it pipelines, or None."""
        while self._kept:
            conn, pipelining, _ = self._kept.pop()
            if conn.idle():
                return conn, pipelining
            _close_quietly(conn)
        return None

    def keep(self, conn: _Replies, pipelining: bool) -> None:
        loop = asyncio.get_running_loop()
        if len(self._kept) >= MAX_IDLE or not conn.idle():
            _quit(conn)
            return
        self._kept.append((conn, pipelining, loop.time()))
        if self._timer is None:
            self._timer = loop.call_later(IDLE_SECONDS, self._expire)

    def close_all(self) -> None:
        kept, self._kept = self._kept, []
        for conn, _, _ in kept:
            _quit(conn)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        """QUIT the connections unused for IDLE_SECONDS; look again for the rest later."""
        self._timer = None
        loop = asyncio.get_running_loop()
        cutoff = loop.time() - IDLE_SECONDS
        stale = [c for c, _, since in self._kept if since <= cutoff]
        self._kept = [kept for kept in self._kept if kept[2] > cutoff]
        for conn in stale:
            _quit(conn)
        if self._kept:
            self._timer = loop.call_later(IDLE_SECONDS, self._expire)


def _quit(conn: _Replies) -> None:
    """Say QUIT without waiting for the answer, then close (the transport sends what it has
    buffered first)."""
    with contextlib.suppress(aiosmtplib.SMTPException, RuntimeError):
        conn.write(b"QUIT\r\n")
    _close_quietly(conn)


def _close_quietly(conn: _Replies) -> None:
    with contextlib.suppress(RuntimeError):  # its loop is closed: nothing left to close on
        conn.close()


class SmtpSession:
    """One SMTP connection reused for the messages of one lane of a delivery batch.

    A message goes in two steps (:meth:`stage`, then :meth:`Handover.complete`): the envelope
    (``MAIL``, ``RCPT``, ``DATA``: written at once when the server offers ``PIPELINING``, one
    round trip instead of three) and, after the server's ``354``, the body; then the end of
    DATA (``.``) alone. A mail server takes responsibility for a message only when it answers
    that last line, and drops a message whose connection closes before it: so many
    lanes can stage at once while the delivery job hands over, and records, one message at a
    time per worker. Only one message per connection is ever staged. Any failure drops the
    connection (a refused recipient or a 4xx leaves the SMTP transaction half done; with
    pipelining a ``DATA`` may even have been accepted) and the next message opens a fresh one.
    A reused connection the server closed while idle (a relay's idle timeout) is reopened and
    the message staged once more on the new connection: nothing had been handed over yet.
    """

    def __init__(self, notifier: SmtpNotifier) -> None:
        self._notifier = notifier
        self._conn: _Replies | None = None
        self._pipelining = False
        self._staged = False
        self._sender = parseaddr(notifier.mail_from)[1]  # the envelope's, parsed once
        self._mail_from = b"MAIL FROM:<" + self._sender.encode("ascii", "replace") + b">\r\n"
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
        mail = dot_stuffed(email_bytes(message, mail_from=self._notifier.mail_from))
        recipient = check_recipient(message)
        if not (self._sender.isascii() and recipient.isascii()):
            raise DeliveryError("non-ASCII address (SMTPUTF8 is not used)", transient=False)
        # Both addresses are checked (check_recipient; the sender is the configured one) and
        # hold no <>, space or CRLF.
        envelope = (self._mail_from, b"RCPT TO:<" + recipient.encode("ascii") + b">\r\n")
        reused = self._conn is not None
        try:
            try:
                if self._conn is None:
                    taken = self._notifier._idle.take()
                    if taken is not None:
                        (self._conn, self._pipelining), reused = taken, True
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

    async def _open(self) -> _Replies:
        smtp = self._notifier._client()
        self.connections += 1
        try:
            await smtp.connect()
            if smtp.is_ehlo_or_helo_needed:
                await smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        self._pipelining = smtp.supports_extension("pipelining")
        transport = smtp.transport
        if transport is None or transport.is_closing():
            smtp.close()
            raise aiosmtplib.SMTPServerDisconnected("connection closed while opening")
        # Not an isinstance check: uvloop's transports (the loop `samhjelp serve` runs on)
        # are not subclasses of asyncio.Transport, only the same interface.
        return _Replies(cast(asyncio.Transport, transport))

    async def _stage(self, mail: bytes, mail_from: bytes, rcpt_to: bytes) -> None:
        if self._conn is None:
            self._conn = await self._open()
        conn, timeout = self._conn, self._notifier.timeout
        if self._pipelining:
            conn.write(mail_from + rcpt_to + b"DATA\r\n")
            sender, rcpt, data = await conn.codes(3, timeout)
        else:
            conn.write(mail_from)
            sender, rcpt, data = (await conn.codes(1, timeout))[0], 0, 0
            if sender == 250:
                conn.write(rcpt_to)
                rcpt = (await conn.codes(1, timeout))[0]
                if rcpt in (250, 251):
                    conn.write(b"DATA\r\n")
                    data = (await conn.codes(1, timeout))[0]
        if sender != 250:
            raise aiosmtplib.SMTPSenderRefused(sender, "", self._sender)
        if rcpt not in (250, 251):
            raise aiosmtplib.SMTPRecipientRefused(rcpt, "", "")
        if data != 354:
            raise aiosmtplib.SMTPDataError(data, "")
        # The body now, while other lanes hand over: a server reads it as it comes (over a
        # network, the transfer) and only the "." is left for the hand-over.
        conn.write(mail)  # ends in CRLF: the end of DATA is one line more

    async def _complete(self, message_id: uuid.UUID) -> None:
        staged, self._staged = self._staged, False
        try:
            if self._conn is None or not staged:
                raise aiosmtplib.SMTPServerDisconnected("connection dropped while staged")
            # The line "." after the body; the reply is the server's verdict on the message.
            self._conn.write(b".\r\n")
            (code,) = await self._conn.codes(1, self._notifier.timeout)
            if code != 250:
                raise aiosmtplib.SMTPDataError(code, "")
        except _SMTP_FAILURES as exc:
            self._drop()
            raise self._notifier._delivery_error(exc) from None
        log.debug("sent e-mail %s via smtp", message_id)

    def _drop(self) -> None:
        self._staged = False
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        """End the session: its connection is kept open for the notifier's next session (see
        :class:`_IdleConnections`), which QUITs it when unused. With a message still staged the
        connection is only closed: a QUIT would be read as body text (and closing is what
        withdraws the message)."""
        if self._staged:
            self._drop()
        conn, self._conn = self._conn, None
        if conn is not None:
            self._notifier._idle.keep(conn, self._pipelining)


@dataclass(frozen=True, slots=True)
class Handover:
    """A staged e-mail: :meth:`complete` hands it over, :meth:`abandon` withdraws it."""

    session: SmtpSession
    message_id: uuid.UUID

    async def complete(self) -> None:
        await self.session._complete(self.message_id)

    def abandon(self) -> None:
        self.session._drop()


def dot_stuffed(mail: bytes) -> bytes:
    """A line of the body that starts with "." gets a second one (RFC 5321 4.5.2), so no body
    line can end DATA. ``mail`` has CRLF line endings; the same as aiosmtplib's
    ``PERIOD_REGEX.sub`` (``(?m)^\\.``), without a regular expression (0.03 ms a message)."""
    stuffed = mail.replace(b"\n.", b"\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def _no_starttls(exc: BaseException) -> bool:
    return isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS" in str(exc).upper()
