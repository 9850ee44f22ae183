"""Turning a :class:`RenderedMessage` into bytes on the wire: MIME e-mail and SMS text.

SMTP and the folder channel share this so an ``.eml`` written in development is exactly what
SMTP would have sent, headers and all.
"""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from notify.model import Channel, DeliveryError, RenderedMessage, Sender, split_sender

# Deliberately loose: the goal is to refuse header injection and obvious garbage before a
# network round trip, not to re-implement RFC 5321. The mail server has the final word.
_EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
_PHONE_RE = re.compile(r"^\+?[0-9]{8,15}$")


def normalise_phone(number: str) -> str:
    """Drop the spaces and dashes people type, keeping a leading ``+``."""
    return re.sub(r"[\s\-()]", "", number)


def check_recipient(message: RenderedMessage) -> str:
    """Return the address normalised for the channel, or raise a permanent DeliveryError.

    A malformed address will never start working, so retrying it only delays the coordinator
    alert.
    """
    if message.channel is Channel.EMAIL:
        if not _EMAIL_RE.match(message.to):
            raise DeliveryError("invalid e-mail address", transient=False)
        return message.to
    number = normalise_phone(message.to)
    if not _PHONE_RE.match(number):
        raise DeliveryError("invalid phone number", transient=False)
    return number


def _from_header(mail_from: str, sender: Sender | None) -> str | Address:
    """The configured sending address, shown under the organisation's name when there is one.

    The address itself stays ``mail_from``: the sending domain is the one SPF/DKIM cover, and a
    From in the organisation's own domain would fail DMARC at the receiver.
    """
    if sender is None or not sender.name:
        return mail_from
    _, address = parseaddr(mail_from)
    if not _EMAIL_RE.match(address):
        return mail_from
    # Control characters in a display name are how header injection starts.
    name = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", sender.name).split())
    local, _, domain = address.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def build_email(message: RenderedMessage, *, mail_from: str) -> EmailMessage:
    """Build the MIME message: text, optional HTML alternative, then attachments.

    The Message-ID is derived from the outbox id, never generated here, so a resend after a crash
    carries the same id and the receiver can drop the duplicate. A sender part among the
    attachments (:class:`notify.model.Sender`) becomes the From name and Reply-To.
    """
    to = check_recipient(message)
    sender, attachments = split_sender(message.attachments)
    mail = EmailMessage()
    mail["From"] = _from_header(mail_from, sender)
    if sender is not None and sender.reply_to and _EMAIL_RE.match(sender.reply_to):
        mail["Reply-To"] = sender.reply_to
    mail["To"] = to
    mail["Subject"] = message.subject
    mail["Message-ID"] = message.rfc_message_id
    mail["Date"] = format_datetime(message.date)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.text)
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html")
    for attachment in attachments:
        maintype, _, rest = attachment.content_type.partition("/")
        if maintype != "text":
            raise ValueError("only text attachments are supported")
        subtype, *params = (part.strip() for part in rest.split(";"))
        mail.add_attachment(
            attachment.content,
            subtype=subtype,
            filename=attachment.filename,
            params=dict(p.split("=", 1) for p in params if "=" in p),
        )
    # MIME boundaries are random by default; deriving them from the id makes a resend
    # byte-for-byte identical, which keeps deduplication by Message-ID honest.
    for number, part in enumerate(mail.walk()):
        if part.is_multipart():
            part.set_boundary(f"==samhjelp-{message.message_id.hex}-{number}")
    return mail
