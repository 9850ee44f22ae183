"""The e-mail bytes written out directly (issue 12) parse back to exactly what was sent.

``email_bytes`` replaced ``EmailMessage`` and its generator on the delivery path; a mail client
reads the result with a MIME parser, so these tests check what a parser gets back: headers
decoded, every part's text unchanged, the structure, and lines a mail server accepts.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest
from notify_harness import ics_attachment, make_message

from notify.mime import email_bytes
from notify.model import Attachment, Channel, DeliveryError, Sender
from notify.render import render
from notify.testing import REMINDER_CONTEXT

LONG_TEXT = (
    "Hei!\n\n"
    + "Første linje er lang og har æ, ø og å og en lenke https://samhjelp.no/s/" + "x" * 120
    + "\n.\n.punktum først på linjen\nFrom her\ntrailing space \t\n\n"
    + "Vennlig hilsen\nLINK Bergen og omegn"
)  # fmt: skip


def parse(raw: bytes) -> EmailMessage:
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def content(part: EmailMessage | None) -> str:
    """A part's text with the wire's CRLF read as line ends, as a mail client shows it."""
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def assert_wire_safe(raw: bytes) -> None:
    assert raw.isascii(), "7-bit on the wire"
    assert b"\n" not in raw.replace(b"\r\n", b""), "CRLF line endings only"
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


@pytest.mark.parametrize("html", [None, "<p>Hei, æøå!</p>\n<p>" + "lang " * 40 + "</p>"])
@pytest.mark.parametrize("files", [(), (ics_attachment(),)])
def test_every_part_comes_back_unchanged(html: str | None, files: tuple[Attachment]) -> None:
    message = make_message(Channel.EMAIL, "a@example.no", text=LONG_TEXT, html=html,
                           attachments=files)  # fmt: skip
    raw = email_bytes(message, mail_from="samhjelp <noreply@example.no>")
    assert_wire_safe(raw)
    mail = parse(raw)
    assert mail["Subject"] == "Velkommen til første gruppemøte"
    assert mail["To"] == "a@example.no"
    assert mail["Message-ID"] == f"<{message.message_id}@samhjelp>"
    assert content(mail.get_body(("plain",))) == LONG_TEXT + "\n"
    if html is None:
        assert mail.get_body(("html",)) is None
    else:
        assert content(mail.get_body(("html",))) == html + "\n"
    attached = list(mail.iter_attachments())
    assert [a.get_content() for a in attached] == [f.content for f in files]  # CRLF kept
    assert [a.get_filename() for a in attached] == [f.filename for f in files]
    assert mail.defects == [] and all(not p.defects for p in mail.walk())


def test_a_real_template_with_a_norwegian_sender_name() -> None:
    rendered = render("meeting_reminder", "nb", REMINDER_CONTEXT, channel=Channel.EMAIL)
    assert rendered.html is not None
    sender = Sender("Frisklivssentralen i Bø", "post@bo.no")
    message = make_message(
        Channel.EMAIL, "p1@example.no", subject=rendered.subject, text=rendered.text,
        html=rendered.html, attachments=(sender.attachment(),),
    )  # fmt: skip
    raw = email_bytes(message, mail_from="samhjelp <noreply@example.no>")
    assert_wire_safe(raw)
    mail = parse(raw)
    assert mail["Subject"] == " ".join(rendered.subject.split())
    assert mail["From"].addresses[0].display_name == "Frisklivssentralen i Bø"
    assert mail["From"].addresses[0].addr_spec == "noreply@example.no"
    assert mail["Reply-To"] == "post@bo.no"
    assert content(mail.get_body(("html",))) == rendered.html + "\n"


def test_a_header_cannot_carry_a_line_break() -> None:
    message = make_message(Channel.EMAIL, "a@example.no")
    with pytest.raises(DeliveryError):
        email_bytes(message, mail_from="x@example.no\r\nBcc: evil@example.org")
    subject = make_message(Channel.EMAIL, "a@example.no", subject="Hei\r\nBcc: evil@example.org")
    mail = parse(email_bytes(subject, mail_from="x@example.no"))
    assert mail["Bcc"] is None and mail["Subject"] == "Hei Bcc: evil@example.org"


def test_a_long_norwegian_subject_and_sender_name_are_folded_not_refused() -> None:
    """Encoded words of a long non-ASCII header come folded (CRLF + space); the injection check
    refused them, so every start notice and invitation with such a subject failed for good."""
    long_subject = "Kan du starte en ny selvhjelpsgruppe på tirsdager i Bø? Svar innen fredag " * 2
    message = make_message(
        Channel.EMAIL,
        "a@example.no",
        subject=long_subject,
        attachments=(
            Sender(
                "LINK Bergen og omegn – kontaktpunkt for selvhjelp på Ål", "p@x.no"
            ).attachment(),
        ),
    )
    raw = email_bytes(message, mail_from="samhjelp <noreply@example.no>")
    assert_wire_safe(raw)
    mail = parse(raw)
    assert mail["Subject"] == " ".join(long_subject.split())
    assert mail["From"].addresses[0].display_name.endswith("selvhjelp på Ål")
