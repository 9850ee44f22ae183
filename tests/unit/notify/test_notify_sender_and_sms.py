"""Issue 9: messages come from the organisation, SMS never cut a place or a link short, and
the texts carry what the reader must know (the start notice's facts, the reply deadline)."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime

import pytest
from notify_harness import ics_attachment, make_message
from test_notify_render import COMMON

from notify.mime import build_email
from notify.model import Channel, Language, Sender
from notify.render import SMS_LIMIT, render

LONG_PLACE = "Frivilligsentralen Laksevåg, Kirkegaten 12, inngang fra bakgården, 2. etasje"
MEETING_LINK = "https://meet.example.no/j/8812345678?pwd=Zk9sR3VwcGVtb3RlLWxhbmd0LWxlbmtlLTI"


def _mail(sender: Sender | None) -> email.message.EmailMessage:
    files = (ics_attachment(),) + ((sender.attachment(),) if sender else ())
    message = make_message(Channel.EMAIL, "a@example.no", attachments=files)
    raw = build_email(message, mail_from="samhjelp <noreply@example.no>").as_bytes()
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_from_name_and_reply_to_are_the_organisation() -> None:
    mail = _mail(Sender("LINK Bergen og omegn", "post@linkbergen.no"))
    sender = mail["From"].addresses[0]
    assert sender.display_name == "LINK Bergen og omegn"
    assert sender.addr_spec == "noreply@example.no"  # the address SPF/DKIM cover
    assert mail["Reply-To"] == "post@linkbergen.no"
    # The sender part is turned into headers, never attached.
    types = [p.get_content_type() for p in mail.iter_attachments()]
    assert types == ["text/calendar"]


def test_without_a_sender_the_configured_from_stays() -> None:
    mail = _mail(None)
    assert str(mail["From"]) == "samhjelp <noreply@example.no>" and mail["Reply-To"] is None


def test_a_display_name_cannot_inject_headers() -> None:
    mail = _mail(Sender("LINK\r\nBcc: evil@example.org", "not an address"))
    assert mail["Bcc"] is None and mail["Reply-To"] is None
    assert mail["From"].addresses[0].display_name == "LINK Bcc: evil@example.org"


SMS_TEMPLATES = ("invitation", "meeting_reminder", "meeting_changed")


@pytest.mark.parametrize("lang", list(Language))
@pytest.mark.parametrize("template", SMS_TEMPLATES)
@pytest.mark.parametrize("place", [LONG_PLACE, MEETING_LINK, "Storgata 1 – bakgården"])
def test_sms_never_truncates_a_place_or_a_link(template: str, lang: Language, place: str) -> None:
    """A place or a meeting link that does not fit is replaced by the short status link,
    never cut (the en dash also forces the short form: it is not GSM-7)."""
    text = render(template, lang, {**COMMON, "place": place}, channel=Channel.SMS).text
    assert len(text) <= SMS_LIMIT, text
    if place in text:  # all of it, as written
        return
    assert COMMON["info_url"] in text
    words = [w for w in re.split(r"[\s,]+", place) if len(w) > 3]
    assert not any(w in text for w in words), text  # or nothing of it, and the link to it


@pytest.mark.parametrize("lang", list(Language))
def test_sms_keeps_a_short_place_in_full(lang: Language) -> None:
    text = render("meeting_reminder", lang, {**COMMON, "place": "Storgata 1"}, channel=Channel.SMS)
    assert "Storgata 1" in text.text and len(text.text) <= SMS_LIMIT


@pytest.mark.parametrize("lang", list(Language))
def test_start_notice_says_what_the_facilitator_is_asked_to_start(lang: Language) -> None:
    context = {**COMMON, "language_name": "arabisk", "digital": True, "participant_count": 7}
    text = render("start_notice", lang, context).text
    for fact in (
        COMMON["theme_name"],
        "7",
        "arabisk",
        COMMON["slot_text"],
        COMMON["area"],
        {"nb": "digitalt", "nn": "digitalt", "en": "digital"}[lang],
        {"nb": "1. desember", "nn": "1. desember", "en": "1 December"}[lang]
        .replace("1", "30")
        .replace("desember", "november")
        .replace("December", "November"),
    ):
        assert fact in text, fact
    across = render("start_notice", lang, {**context, "cross_problem": True}).text
    assert COMMON["theme_name"] not in across


@pytest.mark.parametrize("lang", list(Language))
def test_invitation_states_the_deadline_every_meeting_and_an_off_slot_time(
    lang: Language,
) -> None:
    plain = render("invitation", lang, COMMON)
    off = render("invitation", lang, {**COMMON, "off_slot": True})
    deadline = {"nb": "30. november kl. 12:00", "nn": "30. november kl. 12:00"}.get(
        lang, "30 November at 12:00"
    )
    assert deadline in plain.text
    for day in ("8", "15"):
        assert re.search(rf"\b{day}\.? (desember|December)", plain.text)
    assert COMMON["slot_text"] not in plain.text and COMMON["slot_text"] in off.text
    queue = {"nb": "beholder du plassen din i køen", "nn": "beheld du plassen din i køen"}
    assert queue.get(lang, "keep your place in the queue") in off.text
    sms = render("invitation", lang, {**COMMON, "off_slot": True}, channel=Channel.SMS).text
    assert {"nb": "annen tid", "nn": "anna tid"}.get(lang, "not the time") in sms.lower()


def test_two_checkins_are_one_message_naming_the_group() -> None:
    url2 = COMMON["checkin_url"].replace("Ab3", "Zz9")
    both = [{"number": 1, "url": COMMON["checkin_url"]}, {"number": 2, "url": url2}]
    content = render("checkin_request", "nb", {**COMMON, "checkins": both})
    assert content.subject == "Hvordan gikk møtene?"
    assert COMMON["checkin_url"] in content.text and url2 in content.text
    assert COMMON["group_name"] in content.text


def test_dates_in_context_are_aware() -> None:
    assert all(m.tzinfo is UTC for m in COMMON["meetings"])
    assert isinstance(COMMON["respond_by"], datetime)
