"""Channel harnesses for the notify contract tests: real local servers, no database.

Each harness gives a notifier plus a view of what "arrived" at the other end, and a way to take
the endpoint down and bring it back, so one set of contract tests runs against every channel.
"""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from notify.folder import FolderNotifier
from notify.memory import MemoryNotifier
from notify.model import Attachment, Channel, Notifier, RenderedMessage
from notify.sms import WebhookSmsNotifier
from notify.smtp import SmtpNotifier
from notify.testing import RecordingSmsServer, RecordingSmtpServer


@dataclass(frozen=True)
class Received:
    """One message as the far end saw it."""

    message_id: str
    to: str
    subject: str
    text: str
    attachments: tuple[str, ...] = ()


def parse_email(raw: bytes) -> Received:
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    body = mail.get_body(("plain",))  # type: ignore[attr-defined]
    types = tuple(part.get_content_type() for part in mail.iter_attachments())  # type: ignore[attr-defined]
    return Received(
        message_id=str(mail["Message-ID"]),
        to=str(mail["To"]),
        subject=str(mail["Subject"]),
        text=body.get_content().strip(),
        attachments=types,
    )


@dataclass
class Harness:
    """A channel under contract test."""

    channel: Channel
    notifier: Notifier
    valid_to: str
    invalid_to: str
    refused_to: str | None
    state: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def received(self) -> list[Received]:
        n = self.notifier
        if isinstance(n, MemoryNotifier):
            return [
                Received(
                    m.rfc_message_id if m.channel is Channel.EMAIL else str(m.message_id),
                    m.to,
                    m.subject,
                    m.text,
                    tuple(a.content_type.split(";")[0] for a in m.attachments),
                )
                for m in n.sent
            ]
        if isinstance(n, SmtpNotifier):
            return [parse_email(raw) for raw in self.state.messages]
        if isinstance(n, WebhookSmsNotifier):
            return [
                Received(r["body"]["idempotency_key"], r["body"]["to"], "", r["body"]["text"])
                for r in self.state.requests
                if r["headers"]["idempotency-key"] == r["body"]["idempotency_key"]
            ]
        assert isinstance(n, FolderNotifier)
        if self.channel is Channel.EMAIL:
            return [parse_email(p.read_bytes()) for p in sorted(n.directory.glob("*.eml"))]
        out = []
        for p in sorted(n.directory.glob("*.sms.txt")):
            head, _, text = p.read_text().partition("\n\n")
            fields = dict(line.split(": ", 1) for line in head.splitlines())
            out.append(Received(fields["Idempotency-Key"], fields["To"], "", text.strip()))
        return out

    async def down(self) -> None:
        n = self.notifier
        if isinstance(n, MemoryNotifier):
            n.available = False
        elif isinstance(n, SmtpNotifier):
            self.state.stop()
        elif isinstance(n, WebhookSmsNotifier):
            await self.state.stop()
        else:
            assert isinstance(n, FolderNotifier)
            n.directory.rename(n.directory.with_suffix(".away"))
            n.directory.write_text("a file where the folder should be")

    async def up(self) -> None:
        n = self.notifier
        if isinstance(n, MemoryNotifier):
            n.available = True
        elif isinstance(n, SmtpNotifier):
            self.state.start()
        elif isinstance(n, WebhookSmsNotifier):
            await self.state.start()
        else:
            assert isinstance(n, FolderNotifier)
            n.directory.unlink()
            n.directory.with_suffix(".away").rename(n.directory)


HARNESSES = ["memory-email", "memory-sms", "folder-email", "folder-sms", "smtp", "sms-webhook"]


@pytest.fixture(params=HARNESSES)
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    kind: str = request.param
    email_addrs = (
        "deltaker@example.no",
        "not an address\r\nBcc: x@example.no",
        "reject@example.no",
    )
    sms_addrs = ("+47 912 34 567", "12ab", "+4799000000")
    if kind.startswith("memory"):
        channel = Channel.EMAIL if kind.endswith("email") else Channel.SMS
        valid, invalid, refused = email_addrs if channel is Channel.EMAIL else sms_addrs
        yield Harness(
            channel, MemoryNotifier(rejected={refused.replace(" ", "")}), valid, invalid, refused
        )
    elif kind.startswith("folder"):
        channel = Channel.EMAIL if kind.endswith("email") else Channel.SMS
        valid, invalid, _ = email_addrs if channel is Channel.EMAIL else sms_addrs
        (tmp_path / "outbox").mkdir()
        yield Harness(channel, FolderNotifier(tmp_path / "outbox"), valid, invalid, None)
    elif kind == "smtp":
        server = RecordingSmtpServer()
        server.start()
        notifier = SmtpNotifier(
            "127.0.0.1", server.port, "samhjelp <noreply@example.no>", tls="none", timeout=5
        )
        yield Harness(Channel.EMAIL, notifier, *email_addrs, state=server)
        server.stop()
    else:
        sms = RecordingSmsServer()
        await sms.start()
        notifier = WebhookSmsNotifier(sms.url, "test-token", timeout=5)
        yield Harness(Channel.SMS, notifier, *sms_addrs, state=sms)
        await sms.stop()


def make_message(channel: Channel, to: str, **overrides: Any) -> RenderedMessage:
    values: dict[str, Any] = {
        "message_id": uuid.uuid4(),
        "channel": channel,
        "to": to,
        "subject": "Velkommen til første gruppemøte" if channel is Channel.EMAIL else "",
        "text": "Hei! Første møte er tirsdag 1. desember kl. 18:00. Blåbærsyltetøy & co.",
        "html": "<p>Hei!</p>" if channel is Channel.EMAIL else None,
        "date": datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return RenderedMessage(**values)


def ics_attachment() -> Attachment:
    return Attachment(
        "mote.ics", "text/calendar; method=REQUEST", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    )
