"""The vocabulary of the notify package: channels, messages and the ``Notifier`` port.

Everything here is plain frozen data so the channels, the renderer and the outbox can be tested
without a database, and so a message can be handed between them without anyone mutating it.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from intake.crypto import ContactCipher

#: Associated data for sealed recipient addresses: a ciphertext made for another column (for
#: example an interest's contact) cannot be pasted into the outbox and decrypt there unnoticed.
RECIPIENT_CONTEXT = b"notify.recipient"

#: The right-hand side of every Message-ID, so receivers can tell our ids from anyone else's.
MESSAGE_ID_DOMAIN = "samhjelp"


class Channel(enum.StrEnum):
    """How a message reaches a person."""

    EMAIL = "email"
    SMS = "sms"


class MessageStatus(enum.StrEnum):
    """Life cycle of an outbox row.

    ``sending`` means a worker holds a lease on the row; once the lease runs out the row is due
    again, which is what turns a crashed worker into a retry rather than a lost message.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Language(enum.StrEnum):
    """Languages every template exists in: bokmål first, then nynorsk and English."""

    NB = "nb"
    NN = "nn"
    EN = "en"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A text attachment (today only calendar files, which are text by definition)."""

    filename: str
    content_type: str
    content: str


#: Content type of the sender part: the organisation's name and Reply-To address travel with the
#: attachments (the outbox stores those as they are, so no new column is needed), and
#: :func:`notify.mime.build_email` turns the part into the From name and Reply-To headers
#: instead of attaching it.
SENDER_CONTENT_TYPE = "text/x-samhjelp-sender"


@dataclass(frozen=True, slots=True)
class Sender:
    """Who a message is from as the reader sees it: the LINK or contact point, not the service.

    ``name`` becomes the From display name (the address stays the configured sending address,
    which is what SPF and DKIM are set up for); ``reply_to`` is where an answer goes, the
    organisation's contact address, so a reply reaches a person instead of ``noreply``.
    """

    name: str
    reply_to: str | None = None

    def attachment(self) -> Attachment:
        """The sender as the part :func:`notify.mime.build_email` reads."""
        body = json.dumps({"name": self.name, "reply_to": self.reply_to}, ensure_ascii=False)
        return Attachment(filename="sender.json", content_type=SENDER_CONTENT_TYPE, content=body)

    @classmethod
    def from_attachment(cls, attachment: Attachment) -> Sender:
        data = json.loads(attachment.content)
        reply_to = data.get("reply_to")
        return cls(name=str(data.get("name") or ""), reply_to=str(reply_to) if reply_to else None)


def split_sender(
    attachments: tuple[Attachment, ...],
) -> tuple[Sender | None, tuple[Attachment, ...]]:
    """The sender part (if any) and the real attachments, in their order."""
    sender = None
    files = []
    for attachment in attachments:
        if attachment.content_type == SENDER_CONTENT_TYPE:
            sender = Sender.from_attachment(attachment)
        else:
            files.append(attachment)
    return sender, tuple(files)


@dataclass(frozen=True, slots=True)
class MessageContent:
    """What :func:`notify.render.render` produces: the words, not yet addressed to anyone.

    ``html`` is ``None`` for SMS. ``subject`` is empty for SMS, which has no subject line.
    """

    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message ready for a channel: decrypted recipient, stable id, final content.

    ``message_id`` is the outbox row id. It becomes the e-mail Message-ID and the SMS idempotency
    key, so a resend after a crash is recognisably the same message. ``date`` is when the message
    was enqueued, not when it was sent, for the same reason.
    """

    message_id: uuid.UUID
    channel: Channel
    to: str = field(repr=False)
    subject: str
    text: str
    date: datetime
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()

    @property
    def rfc_message_id(self) -> str:
        """The RFC 5322 Message-ID, ``<uuid@samhjelp>``."""
        return f"<{self.message_id}@{MESSAGE_ID_DOMAIN}>"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A request to send one templated message, as the caller hands it to ``enqueue``.

    Attributes:
        channel: e-mail or SMS.
        recipient: the address sealed with :func:`seal_address`; the clear address never has to
            pass through the caller's transaction or logs.
        template: template name, e.g. ``"invitation"``.
        lang: ``nb``, ``nn`` or ``en``.
        context: JSON-like values the template needs (see docs/notify.md).
        recipient_ref: an opaque reference to the person (``"interest:<uuid>"``) so their
            messages can be found and scrubbed on erasure; the address itself is not searchable.
        organisation_id: the LINK or contact point the message is sent for.
        coordinator: the coordinator's e-mail, sealed, told if this message finally fails.
        attachments: calendar files and the like (e-mail only).
        not_before: do not send before this moment (reminders are enqueued ahead of time).
        dedupe_key: a caller-chosen key; enqueueing the same key twice yields one message, so a
            job that runs twice does not remind people twice.
        message_id: the stable id; a fresh one is made if not given.
    """

    channel: Channel
    recipient: bytes = field(repr=False)
    template: str
    lang: Language | str
    context: Mapping[str, Any]
    recipient_ref: str | None = None
    organisation_id: uuid.UUID | None = None
    coordinator: bytes | None = field(default=None, repr=False)
    attachments: tuple[Attachment, ...] = ()
    not_before: datetime | None = None
    dedupe_key: str | None = None
    message_id: uuid.UUID = field(default_factory=uuid.uuid4)


def seal_address(cipher: ContactCipher, address: str) -> bytes:
    """Encrypt an e-mail address or phone number for the outbox."""
    return cipher.encrypt(address, context=RECIPIENT_CONTEXT)


def open_address(cipher: ContactCipher, token: bytes) -> str:
    """Decrypt an address sealed by :func:`seal_address`."""
    return cipher.decrypt(token, context=RECIPIENT_CONTEXT)


class DeliveryError(Exception):
    """A channel could not deliver a message.

    ``transient`` decides between retry-with-backoff and giving up at once. Messages must never
    contain the recipient address, because they end up in the outbox row and in logs.
    """

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


@runtime_checkable
class Notifier(Protocol):
    """A channel that can send a rendered message (SMTP, SMS webhook, folder, memory)."""

    async def send(self, message: RenderedMessage) -> None:
        """Send ``message`` or raise :class:`DeliveryError`."""
        ...


@runtime_checkable
class SessionNotifier(Protocol):
    """A channel that can send many messages over one connection (SMTP).

    ``session()`` returns an async context manager yielding a :class:`Notifier` whose sends
    share one connection, opened lazily and closed on exit. Sends on one session happen one
    after another, never concurrently. Channels without a connection to keep (folder, SMS
    webhook, memory) need not implement it: :func:`notifier_session` falls back to ``send``.
    """

    async def send(self, message: RenderedMessage) -> None:
        """Send ``message`` on a connection of its own, or raise :class:`DeliveryError`."""
        ...

    def session(self) -> AbstractAsyncContextManager[Notifier]:
        """A sender reusing one connection for every message sent through it."""
        ...


class Handover(Protocol):
    """A staged message: ``complete`` hands it over (raising :class:`DeliveryError`),
    ``abandon`` withdraws it unsent."""

    async def complete(self) -> None: ...

    def abandon(self) -> None: ...


@runtime_checkable
class Stager(Protocol):
    """A session that sends a message in two steps: :meth:`stage` does all but the last (SMTP:
    envelope and body), the returned :class:`Handover` the last (SMTP: the end of DATA, the
    moment the server takes the message on). The delivery job stages on many connections at
    once but hands over one message at a time per worker."""

    async def send(self, message: RenderedMessage) -> None: ...

    async def stage(self, message: RenderedMessage) -> Handover: ...


def notifier_session(notifier: Notifier) -> AbstractAsyncContextManager[Notifier]:
    """``notifier.session()`` where the channel has one, else the notifier itself."""
    if isinstance(notifier, SessionNotifier):
        return notifier.session()
    return nullcontext(notifier)
