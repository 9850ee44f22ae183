"""Message templates: every template in every language renders, stays short and discreet."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jinja2
import pytest

from notify.model import Channel, Language
from notify.render import TEMPLATES, UnknownTemplateError, render

THEME = "Spiseforstyrrelser"  # health data: must never reach a subject line or an SMS
URL = "https://samhjelp.no/s/Ab3dE6fG"  # the length of a real short link

COMMON: dict[str, Any] = {
    "org_name": "LINK Bergen og omegn",
    "area": "Bergen og omegn",
    "theme_name": THEME,
    "participant_count": 6,
    "respond_by": datetime(2026, 11, 30, 11, 0, tzinfo=UTC),
    "meeting_start": datetime(2026, 12, 1, 17, 0, tzinfo=UTC),
    "place": "Frivilligsentralen Laksevåg, Kirkegaten 12, 2. etasje",
    "accept_url": URL,
    "decline_url": URL.replace("Ab3", "Xy9"),
    "min_size": 4,
    "meeting_number": 2,
    "checkin_url": URL,
    "followup_url": URL,
    "review_url": URL,
    "reference": "8efb8060-4b02-4afc-ba61-6ca9970752c2",
    "reason": "message_failed",
    "template": "invitation",
    "channel": "email",
    "attempts": 8,
    "error": "smtp error 550",
    "form_url": URL,
    "why": "for få deltakere",
    "cross_problem": False,
    "language_name": "norsk",
    "slot_text": "tirsdag kveld (17:00–22:00)",
    "digital": False,
    "facilitated_meetings": 3,
    "group_name": f"{THEME}, tirsdag kveld, LINK Bergen og omegn",
    "meetings": [datetime(2026, 12, d, 17, 0, tzinfo=UTC) for d in (1, 8, 15)],
    "off_slot": False,
    "info_url": URL.replace("Ab3", "Inf"),
    "checkins": [{"number": 2, "url": URL}],
    "group_id": "8efb8060-4b02-4afc-ba61-6ca9970752c2",
    "group_url": "https://samhjelp.no/api/v1/staff/groups/8efb8060-4b02-4afc-ba61-6ca9970752c2",
    "declined": 1,
    "no_answer": 2,
    "meeting_numbers": [2],
    "kind": "absent",
    "coming": 5,
    "back_in_queue": True,
    "code": "K7M4Q-XR9TB",
}

# GSM 03.38 basic set (incl. æøåÆØÅ): anything else switches an SMS to UCS-2 and 70 characters.
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

ALL = [(t, lang) for t in TEMPLATES for lang in Language]


@pytest.mark.parametrize(("template", "lang"), ALL)
def test_every_template_renders_email_and_sms(template: str, lang: Language) -> None:
    email = render(template, lang, COMMON)
    sms = render(template, lang, COMMON, channel=Channel.SMS)
    assert email.subject and email.text and email.html
    assert f'lang="{lang}"' in email.html
    assert sms.text and sms.subject == "" and sms.html is None


@pytest.mark.parametrize(("template", "lang"), ALL)
def test_theme_never_in_subject_or_sms(template: str, lang: Language) -> None:
    email = render(template, lang, COMMON)
    sms = render(template, lang, COMMON, channel=Channel.SMS)
    assert THEME.lower() not in email.subject.lower()
    assert THEME.lower() not in sms.text.lower()


@pytest.mark.parametrize(("template", "lang"), ALL)
def test_sms_fits_one_gsm7_message(template: str, lang: Language) -> None:
    text = render(template, lang, COMMON, channel=Channel.SMS).text
    assert len(text) <= 160, text
    assert set(text) <= GSM7, set(text) - GSM7


def test_no_facilitator_alert_says_what_happened_which_group_and_what_next() -> None:
    content = render("coordinator_alert", "nb", {**COMMON, "reason": "no_facilitator"})
    assert content.subject == "Ingen igangsetter har sagt ja: gruppe 8efb8060"
    assert "1 sa nei, og 2 svarte ikke innen fristen" in content.text
    assert COMMON["group_id"] in content.text and COMMON["group_url"] in content.text
    assert COMMON["group_name"] in content.text and "Neste steg:" in content.text


@pytest.mark.parametrize("lang", list(Language))
def test_missing_meeting_time_alert_has_its_own_wording(lang: Language) -> None:
    alert = render("coordinator_alert", lang, {**COMMON, "reason": "no_meeting_time"})
    failed = render("coordinator_alert", lang, COMMON)
    assert alert.subject != failed.subject and COMMON["reference"] in alert.text
    reminder = render("meeting_time_reminder", lang, COMMON)
    assert URL in reminder.text and COMMON["area"] in reminder.text


def test_languages_are_really_translated() -> None:
    texts = {lang: render("invitation", lang, COMMON).text for lang in Language}
    assert len(set(texts.values())) == 3
    assert "tirsdag 1. desember kl. 18:00" in texts[Language.NB]  # Oslo time, not UTC
    assert "tysdag 1. desember kl. 18:00" in texts[Language.NN]
    assert "Tuesday 1 December at 18:00" in texts[Language.EN]


def test_html_is_escaped_and_text_is_not() -> None:
    content = render("meeting_reminder", "nb", {**COMMON, "place": "<b>Kafé & Co</b>"})
    assert "<b>Kafé & Co</b>" in content.text
    assert "&lt;b&gt;Kafé &amp; Co&lt;/b&gt;" in (content.html or "")


def test_links_become_anchors_in_html() -> None:
    html = render("checkin_request", "en", COMMON).html or ""
    assert f'<a href="{URL}">{URL}</a>' in html


def test_missing_context_value_fails_loudly() -> None:
    context = {k: v for k, v in COMMON.items() if k != "place"}
    with pytest.raises(jinja2.UndefinedError):
        render("invitation", "nb", context)


def test_naive_dates_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        render("invitation", "nb", {**COMMON, "meeting_start": datetime(2026, 12, 1, 18, 0)})


@pytest.mark.parametrize(("template", "lang"), [("nonexistent", "nb"), ("invitation", "se")])
def test_unknown_template_or_language(template: str, lang: str) -> None:
    with pytest.raises(UnknownTemplateError):
        render(template, lang, COMMON)
