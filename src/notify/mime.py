"""Turning a :class:`RenderedMessage` into bytes on the wire: MIME e-mail and SMS text.

SMTP and the folder channel share this so an ``.eml`` written in development is exactly what
SMTP would have sent, headers and all.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import functools
import re
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from notify.model import (
    Attachment,
    Channel,
    DeliveryError,
    RenderedMessage,
    Sender,
    split_sender,
)

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


@functools.lru_cache(maxsize=256)
def _from_header(mail_from: str, sender: Sender | None) -> str:
    """The configured sending address, shown under the organisation's name when there is one.

    The address itself stays ``mail_from``: the sending domain is the one SPF/DKIM cover, and a
    From in the organisation's own domain would fail DMARC at the receiver.
    """
    if sender is None or not sender.name:
        if mail_from.isascii():
            return mail_from
        return formataddr(parseaddr(mail_from), charset="utf-8")
    _, address = parseaddr(mail_from)
    if not _EMAIL_RE.match(address):
        return mail_from
    # Control characters in a display name are how header injection starts.
    name = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", sender.name).split())
    return formataddr((name, address), charset="utf-8")


def build_email(message: RenderedMessage, *, mail_from: str) -> EmailMessage:
    """The e-mail as an :class:`EmailMessage`, parsed from :func:`email_bytes` (the one
    implementation), for callers and tests that want to look at headers and parts."""
    parsed = email.message_from_bytes(email_bytes(message, mail_from=mail_from), policy=_POLICY)
    assert isinstance(parsed, EmailMessage)
    return parsed


def email_bytes(message: RenderedMessage, *, mail_from: str) -> bytes:
    """The MIME message as it goes on the wire: text, optional HTML alternative, then
    attachments, with CRLF line endings.

    Written out directly rather than through :class:`EmailMessage` and its generator, which
    cost about 3 ms of CPU per message: more than everything else the delivery job does for it
    (issue 12). The structure is what ``EmailMessage`` made (tests parse it back): parts in
    quoted-printable, attachments in base64, encoded words for non-ASCII headers.

    The Message-ID is derived from the outbox id, never generated here, so a resend after a crash
    carries the same id and the receiver can drop the duplicate. MIME boundaries derive from the
    id too, so a resend is byte-for-byte identical. A sender part among the attachments
    (:class:`notify.model.Sender`) becomes the From name and Reply-To.
    """
    to = check_recipient(message)
    sender, attachments = split_sender(message.attachments)
    head = [
        _header("From", _from_header(mail_from, sender)),
    ]
    if sender is not None and sender.reply_to and _EMAIL_RE.match(sender.reply_to):
        head.append(_header("Reply-To", sender.reply_to))
    head += [
        _header("To", to),
        _header("Subject", _encoded(message.subject)),
        _header("Message-ID", message.rfc_message_id),
        _header("Date", format_datetime(message.date)),
        b"Auto-Submitted: auto-generated",
        b"MIME-Version: 1.0",
    ]
    boundary = f"==samhjelp-{message.message_id.hex}-".encode()
    body = [_text_part(message.text, "plain")]
    if message.html is not None:
        body.append(_text_part(message.html, "html"))
    files = [_attachment(a) for a in attachments]
    if not files:
        top = _multipart(b"alternative", boundary + b"0", body) if len(body) > 1 else body[0]
    else:
        # Numbered as EmailMessage.walk() numbers them: mixed 0, alternative 1.
        first = _multipart(b"alternative", boundary + b"1", body) if len(body) > 1 else body[0]
        top = _multipart(b"mixed", boundary + b"0", [first, *files])
    return b"\r\n".join(head) + b"\r\n" + top


_POLICY = email.policy.default
#: Control characters (CR and LF among them) in a header value are how header injection starts.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _header(name: str, value: str) -> bytes:
    # RFC 2047 encoded words of a long non-ASCII text come folded (CRLF + space): that folding
    # is ours and allowed; any other control character would inject a header.
    if _CONTROL.search(value.replace("\r\n ", " ")) or not value.isascii():
        raise DeliveryError(f"the {name} header cannot be sent as is", transient=False)
    return f"{name}: {value}".encode("ascii")


@functools.lru_cache(maxsize=1024)  # a batch repeats its subjects; encoding one costs ~0.2 ms
def _encoded(text: str) -> str:
    """A header text as is when it is plain ASCII, else as RFC 2047 encoded words."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    if text.isascii() and len(text) < 900:
        return text
    return Header(text, "utf-8", maxlinelen=76).encode(linesep="\r\n")


def _text_part(text: str, subtype: str) -> bytes:
    """A text part in quoted-printable (readable in a raw .eml, 7-bit safe on the wire)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    body = binascii.b2a_qp(lines, istext=True).replace(b"\n", b"\r\n")
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode() + body


def _attachment(attachment: Attachment) -> bytes:
    maintype, _, rest = attachment.content_type.partition("/")
    if maintype != "text":
        raise ValueError("only text attachments are supported")
    subtype, *raw_params = (part.strip() for part in rest.split(";"))
    params = "".join(
        f'; {k.strip()}="{v.strip().strip(chr(34))}"'
        for k, v in (p.split("=", 1) for p in raw_params if "=" in p)
    )
    filename = _CONTROL.sub("", attachment.filename).replace('"', "")
    content = base64.encodebytes(attachment.content.encode("utf-8")).replace(b"\n", b"\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{params}\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="{filename}"\r\n\r\n'
    ).encode() + content


def _multipart(subtype: bytes, boundary: bytes, parts: list[bytes]) -> bytes:
    out = [b"Content-Type: multipart/" + subtype + b'; boundary="' + boundary + b'"\r\n']
    for part in parts:
        out.append(b"--" + boundary + b"\r\n" + part)
    out.append(b"--" + boundary + b"--\r\n")
    return b"\r\n".join(out)
