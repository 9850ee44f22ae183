"""SMTP PIPELINING (RFC 2920): the envelope in one write when the server offers it.

A lane stages a message by writing ``MAIL``, ``RCPT`` and ``DATA`` at once and reading the
three replies, then the body; the end of DATA stays a step of its own (the hand-over). What
pipelining adds as a failure mode: a refused recipient is only seen after ``DATA`` was sent
too, so the client must never send a body or a ``.`` for it, and the server's answer to
``DATA`` (a compliant server refuses it, a careless one says 354) must not deliver anything.

Two kinds of server: aiosmtpd told to offer PIPELINING (it reads commands line by line, so
pipelined commands just work), and a scripted server on asyncio streams that answers
nothing until all three envelope commands have arrived: a client that waited for each reply
would time out there, so it proves the commands really travel together.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import ipaddress
import re
import ssl
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
import uvloop
from aiosmtpd.controller import Controller
from aiosmtplib.protocol import PERIOD_REGEX
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake.crypto import ContactCipher
from notify import DeliveryError, DeliveryPolicy, deliver_due, enqueue, smtp
from notify.model import Channel, RenderedMessage
from notify.smtp import SmtpNotifier, dot_stuffed
from notify.tables import outbox
from notify.testing import RecordingSmtpServer, free_port, sample_reminder

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
Maker = async_sessionmaker[AsyncSession]


class PipeliningSink:
    """aiosmtpd offering PIPELINING; refuses the recipients in ``refuse`` with their code,
    records each accepted Message-ID and the connection it came on, can drop a connection
    after the n-th message (a relay's idle timeout)."""

    def __init__(self, *, refuse: dict[str, int] | None = None, drop_after: int | None = None):
        self.port = free_port()
        self.refuse = refuse or {}
        self.drop_after = drop_after
        self.message_ids: list[str] = []
        self.sessions: list[object] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return f"{self.refuse[address]} mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.message_ids.append(str(mail["Message-ID"]))
            if not any(s is session for s in self.sessions):
                self.sessions.append(session)
            count = len(self.message_ids)
        if self.drop_after is not None and count == self.drop_after:
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted"

    def __enter__(self) -> PipeliningSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


def smtp_to(port: int, timeout: float = 10) -> SmtpNotifier:
    return SmtpNotifier("127.0.0.1", port, "noreply@example.no", tls="none", timeout=timeout)


async def enqueue_many(maker: Maker, cipher: ContactCipher, n: int) -> list[uuid.UUID]:
    async with maker.begin() as session:
        return [await enqueue(session, sample_reminder(cipher, i), now=T0) for i in range(n)]


async def test_a_batch_where_some_recipients_are_refused(
    maker: Maker, cipher: ContactCipher
) -> None:
    """Pipelined envelopes, four lanes: a 550 fails that message for good, a 450 sends it back
    to wait, every other message arrives exactly once, and no refused one arrives at all (its
    DATA was sent with the envelope, its body never)."""
    ids = await enqueue_many(maker, cipher, 30)
    refused = {f"p{i}@example.no": 550 for i in (3, 11, 19)}
    refused |= {f"p{i}@example.no": 450 for i in (5, 23)}
    with PipeliningSink(refuse=refused) as sink:
        report = await deliver_due(
            maker,
            lambda _: smtp_to(sink.port),
            cipher,
            now=T0,
            batch_size=30,
            worker_id="w1",
            policy=DeliveryPolicy(concurrency=4),
        )
        received = list(sink.message_ids)
    assert (report.sent, report.failed, report.retrying) == (25, 3, 2)
    gone = {ids[i] for i in (3, 11, 19, 5, 23)}
    assert Counter(received) == Counter(f"<{i}@samhjelp>" for i in ids if i not in gone)
    async with maker() as session:
        rows = await session.execute(select(outbox.c.id, outbox.c.status, outbox.c.last_error))
        outcome = {row.id: (row.status, row.last_error) for row in rows}
    for i in (3, 11, 19):
        assert outcome[ids[i]] == ("failed", "recipient refused (550)")
    for i in (5, 23):
        assert outcome[ids[i]] == ("pending", "recipient refused (450)")
    assert Counter(status for status, _ in outcome.values()) == Counter(
        {"sent": 25, "failed": 3, "pending": 2}
    )


async def test_a_pipelined_batch_reuses_one_connection_per_lane(
    maker: Maker, cipher: ContactCipher
) -> None:
    ids = await enqueue_many(maker, cipher, 40)
    with PipeliningSink() as sink:
        report = await deliver_due(
            maker,
            lambda _: smtp_to(sink.port),
            cipher,
            now=T0,
            batch_size=40,
            worker_id="w1",
            policy=DeliveryPolicy(concurrency=2),
        )
        received, sessions = list(sink.message_ids), len(sink.sessions)
    assert report.sent == 40
    assert sessions <= 2
    assert Counter(received) == Counter(f"<{i}@samhjelp>" for i in ids)


async def test_a_pipelined_connection_the_server_closed_is_reopened(
    maker: Maker, cipher: ContactCipher
) -> None:
    """The relay closes the connection after the 4th message: the 5th's pipelined envelope
    meets a closed connection and goes out once on a new one."""
    ids = await enqueue_many(maker, cipher, 10)
    with PipeliningSink(drop_after=4) as sink:
        report = await deliver_due(
            maker,
            lambda _: smtp_to(sink.port),
            cipher,
            now=T0,
            batch_size=10,
            worker_id="w1",
            policy=DeliveryPolicy(concurrency=1),
        )
        received, sessions = list(sink.message_ids), len(sink.sessions)
    assert report.sent == 10 and report.retrying == 0
    assert sessions == 2
    assert Counter(received) == Counter(f"<{i}@samhjelp>" for i in ids)


# -- a scripted server: what exactly goes over the wire ------------------------------------


class ScriptedServer:
    """Answers the envelope only once MAIL, RCPT and DATA have all arrived (a client that
    waited for each reply would hang), with replies cut into odd pieces; ``rcpt_code`` and
    ``data_code`` set what it says to RCPT and DATA. Keeps every line the client sent."""

    def __init__(self, *, rcpt_code: int = 250, data_code: int = 354) -> None:
        self.port = free_port()
        self.rcpt_code, self.data_code = rcpt_code, data_code
        self.lines: list[bytes] = []
        self.closed = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _line(self, reader: asyncio.StreamReader) -> bytes:
        line = await reader.readline()
        if not line:
            raise ConnectionError("client closed")
        self.lines.append(line)
        return line

    async def _send(self, writer: asyncio.StreamWriter, *pieces: bytes) -> None:
        for piece in pieces:  # separate writes: the client must join them itself
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.01)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._send(writer, b"220 scripted ESMTP\r\n")
            await self._line(reader)  # EHLO
            await self._send(writer, b"250-scripted\r\n250-PIPEL", b"INING\r\n250 HELP\r\n")
            while True:
                first = await self._line(reader)
                if first.startswith(b"QUIT"):
                    await self._send(writer, b"221 bye\r\n")
                    return
                await self._line(reader)  # RCPT
                await self._line(reader)  # DATA: only now anything is answered
                await self._send(
                    writer, b"250 OK\r\n", f"{self.rcpt_code} x\r\n{self.data_code}".encode(),
                    b" go on\r\n",
                )  # fmt: skip
                if self.data_code != 354:
                    continue
                while await self._line(reader) != b".\r\n":
                    pass
                await self._send(writer, b"25", b"0-queued\r\n250 as 1\r\n")
        except ConnectionError:
            pass
        finally:
            self.closed.set()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def rendered(to: str = "p1@example.no") -> RenderedMessage:
    return RenderedMessage(
        message_id=uuid.uuid4(), channel=Channel.EMAIL, to=to, subject="Hei",
        text="Hei på deg\n.\nlinje", html=None, date=T0,
    )  # fmt: skip


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedServer]:
    async with ScriptedServer() as server:
        yield server


async def test_the_envelope_travels_in_one_write_and_replies_in_pieces_are_joined(
    scripted: ScriptedServer,
) -> None:
    message = rendered()
    notifier = smtp_to(scripted.port, timeout=3)
    async with notifier.session() as session:
        await session.send(message)
        await session.send(rendered("p2@example.no"))
    notifier.close_idle()  # the connection was kept for the next session: QUIT it now
    await asyncio.wait_for(scripted.closed.wait(), 3)
    sent = [line for line in scripted.lines if line[:4] in (b"MAIL", b"RCPT", b"DATA")]
    assert sent == [
        b"MAIL FROM:<noreply@example.no>\r\n", b"RCPT TO:<p1@example.no>\r\n", b"DATA\r\n",
        b"MAIL FROM:<noreply@example.no>\r\n", b"RCPT TO:<p2@example.no>\r\n", b"DATA\r\n",
    ]  # fmt: skip
    assert f"Message-ID: <{message.message_id}@samhjelp>\r\n".encode() in scripted.lines
    assert scripted.lines.count(b".\r\n") == 2  # each message's end of DATA, once
    assert scripted.lines[-1] == b"QUIT\r\n"


@pytest.mark.parametrize("data_code", [554, 354], ids=["data-refused", "data-accepted"])
async def test_a_refused_recipient_sends_no_body_even_if_data_was_accepted(
    data_code: int,
) -> None:
    """Seen only after DATA was already sent: a compliant server refuses DATA (554), a careless
    one says 354. Either way the message fails for good and the client sends neither body nor
    ``.``: it closes the connection, which withdraws whatever the server had begun."""
    async with ScriptedServer(rcpt_code=550, data_code=data_code) as server:
        async with smtp_to(server.port, timeout=3).session() as session:
            with pytest.raises(DeliveryError) as refused:
                await session.send(rendered())
        await asyncio.wait_for(server.closed.wait(), 3)
    assert refused.value.reason == "recipient refused (550)"
    assert not refused.value.transient
    assert server.lines[-1] == b"DATA\r\n"  # nothing after it: no body, no ".", no QUIT


async def test_a_server_that_never_answers_the_envelope_times_out() -> None:
    """A silent server (here: one that waits for a fourth command) is a transient failure
    after the configured timeout, not a hang."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hi\r\n")
        await reader.readline()
        writer.write(b"250-x\r\n250 PIPELINING\r\n")
        await reader.read()  # reads, never answers
        writer.close()

    port = free_port()
    server = await asyncio.start_server(silent, "127.0.0.1", port)
    try:
        async with smtp_to(port, timeout=0.3).session() as session:
            with pytest.raises(DeliveryError) as timed_out:
                await session.send(rendered())
    finally:
        server.close()
        await server.wait_closed()
    assert timed_out.value.transient
    assert timed_out.value.reason == "smtp unavailable (SMTPReadTimeoutError)"


@given(st.lists(st.sampled_from([b".", b"..", b"\r\n", b"\n", b"a", b" "]), max_size=12))
def test_dot_stuffing_is_what_aiosmtplib_does(pieces: list[bytes]) -> None:
    """A body line starting with "." gets a second one, else a line "." would end DATA early
    (a truncated e-mail, the rest read as commands)."""
    mail = b"".join(pieces)
    assert dot_stuffed(mail) == PERIOD_REGEX.sub(b"..", mail)


# -- over TLS: the transport taken over after STARTTLS is the encrypted one ------------------


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2100, 1, 1, tzinfo=UTC))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@dataclass(frozen=True)
class TrustingNotifier(SmtpNotifier):
    """The production notifier, trusting the test's own certificate authority."""

    cafile: str = ""

    def _client(self) -> aiosmtplib.SMTP:
        client = super()._client()
        client.tls_context = ssl.create_default_context(cafile=self.cafile)
        return client


async def test_pipelining_after_starttls(tmp_path: Path) -> None:
    """STARTTLS, then the pipelined envelope and the body on the encrypted transport (the one
    the protocol takes over must be the TLS one, or the server would read ciphertext-less
    commands on a TLS session and refuse them)."""
    cert_file, key_file = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    sink = PipeliningSink()
    sink._controller = Controller(
        sink, hostname="127.0.0.1", port=sink.port, tls_context=server_tls, require_starttls=True
    )
    with sink:
        notifier = TrustingNotifier(
            "127.0.0.1", sink.port, "noreply@example.no", tls="starttls", timeout=5,
            cafile=str(cert_file),
        )  # fmt: skip
        messages = [rendered(f"p{i}@example.no") for i in range(3)]
        async with notifier.session() as session:
            for message in messages:
                await session.send(message)
        received = list(sink.message_ids)
    assert received == [m.rfc_message_id for m in messages]


# --- On uvloop, the loop `samhjelp serve` runs (issue 12) ---------------------------------
# uvicorn picks uvloop (a dependency of the project), and the delivery job sends from that
# loop. Its transports are not subclasses of asyncio.Transport, which the SMTP session once
# asserted: every e-mail then failed as "unexpected" and was retried forever. Found by running
# the outbox benchmark on the service's loop.

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


async def _send_all(port: int, addresses: list[str]) -> list[str]:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
    messages = [rendered(address) for address in addresses]
    notifier = SmtpNotifier("127.0.0.1", port, "noreply@example.no", tls="none", timeout=5)
    async with notifier.session() as session:
        for message in messages:
            await session.send(message)
    return [m.rfc_message_id for m in messages]


def test_a_pipelined_session_sends_on_uvloop() -> None:
    with PipeliningSink() as sink, asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        sent = runner.run(_send_all(sink.port, [f"u{i}@example.no" for i in range(3)]))
        assert list(sink.message_ids) == sent


def test_a_plain_session_sends_on_uvloop(smtp_server: RecordingSmtpServer) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        sent = runner.run(_send_all(smtp_server.port, [f"v{i}@example.no" for i in range(3)]))
    received = [_MESSAGE_ID.search(m) for m in smtp_server.messages]
    assert [m.group(1).decode() for m in received if m] == sent


def test_starttls_then_pipelining_on_uvloop(tmp_path: Path) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    sink = PipeliningSink()
    sink._controller = Controller(
        sink, hostname="127.0.0.1", port=sink.port, tls_context=server_tls, require_starttls=True
    )
    messages = [rendered(f"t{i}@example.no") for i in range(3)]

    async def send() -> None:
        notifier = TrustingNotifier(
            "127.0.0.1", sink.port, "noreply@example.no", tls="starttls", timeout=5,
            cafile=str(cert_file),
        )  # fmt: skip
        async with notifier.session() as session:
            for message in messages:
                await session.send(message)

    with sink, asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(send())
        received = list(sink.message_ids)
    assert received == [m.rfc_message_id for m in messages]


async def test_a_kept_connection_is_quit_when_left_unused(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connections kept between sessions (issue 12) do not linger at the relay: unused for
    IDLE_SECONDS, they get a QUIT."""
    monkeypatch.setattr(smtp, "IDLE_SECONDS", 0.05)
    async with smtp_to(scripted.port, timeout=3).session() as session:
        await session.send(rendered())
    await asyncio.wait_for(scripted.closed.wait(), 3)
    assert scripted.lines[-1] == b"QUIT\r\n"
