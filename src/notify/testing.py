"""Local stand-ins for a mail server and an SMS provider, for tests and the benchmark.

They live in the package (not under tests/) so the contract tests, the integration tests and
``bench/outbox_throughput.py`` share one implementation. Requires the test extra (aiosmtpd).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.controller import Controller

from intake.crypto import ContactCipher
from notify.model import Channel, OutgoingMessage, seal_address

# One meeting reminder's context, as the life cycle fills it in.
REMINDER_CONTEXT: dict[str, Any] = {
    "org_name": "LINK Oslo",
    "meeting_start": datetime(2026, 12, 1, 17, 0, tzinfo=UTC),
    "place": "Frivilligsentralen, Storgata 1",
    "info_url": "https://samhjelp.no/s/abc",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def sample_reminder(cipher: ContactCipher, i: int) -> OutgoingMessage:
    """A Norwegian meeting reminder by e-mail to a made-up person p<i>@example.no."""
    return OutgoingMessage(
        channel=Channel.EMAIL,
        recipient=seal_address(cipher, f"p{i}@example.no"),
        template="meeting_reminder",
        lang="nb",
        context=REMINDER_CONTEXT,
    )


class _RecordingHandler:
    """aiosmtpd handler: records DATA, refuses RCPT for addresses starting with 'reject'."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self._lock = threading.Lock()

    async def handle_RCPT(  # noqa: N802 - name fixed by aiosmtpd
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self._lock:
            self.messages.append(envelope.original_content or envelope.content)
        return "250 Message accepted"


class RecordingSmtpServer:
    """An aiosmtpd server on a free port that can be stopped and restarted on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self._handler = _RecordingHandler()
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[bytes]:
        """Raw messages received so far, in order."""
        return self._handler.messages

    def start(self) -> None:
        """Start listening (again)."""
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening; connections are then refused, as with a mail server that is down."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class RecordingSmsServer:
    """A minimal HTTP/1.1 webhook endpoint on asyncio streams that records SMS requests.

    Answers 401 without the expected bearer token, 400 for numbers starting ``+4799`` (the
    provider's "no such number"), ``status_override`` if set, else 202.
    """

    def __init__(self, token: str = "test-token") -> None:  # noqa: S107 - a test stand-in
        self.port = free_port()
        self.token = token
        self.requests: list[dict[str, Any]] = []
        self.status_override: int | None = None
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """The webhook URL to configure."""
        return f"http://127.0.0.1:{self.port}/sms"

    async def start(self) -> None:
        """Start listening (again) on the same port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            key, _, value = line.decode().partition(":")
            headers[key.strip().lower()] = value.strip()
        body = json.loads(await reader.readexactly(int(headers.get("content-length", "0"))))
        if self.status_override is not None:
            status = self.status_override
        elif headers.get("authorization") != f"Bearer {self.token}":
            status = 401
        elif str(body["to"]).startswith("+4799"):
            status = 400
        else:
            self.requests.append({"headers": headers, "body": body})
            status = 202
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()
