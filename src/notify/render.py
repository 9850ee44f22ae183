"""Rendering message templates in bokmål, nynorsk and English.

Each message is one Jinja2 file per language, ``templates/<lang>/<name>.jinja``, with three
blocks: ``subject``, ``text`` (the e-mail body) and ``sms``. The HTML e-mail is built from the
text body by one shared layout instead of being a second hand-written copy, so translators edit
one text and the two versions cannot drift apart.

Templates use ``StrictUndefined``: a missing context value fails at enqueue time, inside the
caller's transaction, instead of sending "Hei , gruppen din starter ".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup, escape

from notify.model import Channel, Language, MessageContent

OSLO = ZoneInfo("Europe/Oslo")

#: Every template the rest of the system may enqueue.
TEMPLATES = (
    "start_notice",
    "facilitator_reminder",
    "invitation",
    "meeting_reminder",
    "place_offered",
    "group_cancelled",
    "checkin_request",
    "followup_reminder",
    "review_reminder",
    "coordinator_alert",
    "meeting_time_reminder",
    "group_ended",
    "meeting_changed",
    "checkin_note",
    "member_absent",
    "group_left",
    "receipt_code",
    # At most monthly, to people who opted in: a change in their choices would place them now.
    "suggestion_offer",
    # Once, a month before a waiting registration lapses: do you still want a group? (intake.lapse)
    "lapse_notice",
    # The staff console's one-time links (staff.links): e-mail only.
    "staff_sign_in",
    "staff_invitation",
)

#: One SMS: 160 characters of the GSM 03.38 alphabet. Anything else (an en dash in a place
#: name, an emoji) switches the whole SMS to UCS-2 and 70 characters per part.
SMS_LIMIT = 160
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# Explicit patterns, not babel's "medium" formats: those use non-GSM characters (narrow no-break
# spaces) that would turn a 160-character SMS into a 70-character one.
_LONG = {
    "nb": "EEEE d. MMMM 'kl.' HH:mm",
    "nn": "EEEE d. MMMM 'kl.' HH:mm",
    "en": "EEEE d MMMM 'at' HH:mm",
}
_SHORT = {
    "nb": "EEE d. MMM 'kl.' HH:mm",
    "nn": "EEE d. MMM 'kl.' HH:mm",
    "en": "EEE d MMM 'at' HH:mm",
}
_URL_RE = re.compile(r"https?://[^\s<>\"]+")


class UnknownTemplateError(LookupError):
    """Raised for a template name or language that does not exist."""


def _when(value: datetime, lang: str, *, short: bool = False) -> str:
    """Format a moment in Oslo time in the reader's language; naive datetimes are refused."""
    if value.tzinfo is None:
        raise ValueError("message dates must be timezone-aware")
    pattern = (_SHORT if short else _LONG)[lang]
    return format_datetime(value, pattern, tzinfo=OSLO, locale=lang)


@cache
def _environment() -> Environment:
    # Plain text and SMS: no autoescaping, or "Tid & sted" would arrive as "Tid &amp; sted".
    return Environment(
        loader=PackageLoader("notify", "templates"),
        autoescape=False,  # noqa: S701 - plain text and SMS; HTML uses the escaping env
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _html_environment() -> Environment:
    return Environment(
        loader=PackageLoader("notify", "templates"), autoescape=True, undefined=StrictUndefined
    )


def _block(template: Template, name: str, context: Mapping[str, Any]) -> str:
    render = template.blocks[name]
    text = "".join(render(template.new_context(dict(context))))
    # Collapse the blank lines Jinja tags leave behind, keeping paragraph breaks.
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _linkify(paragraph: str) -> Markup:
    escaped = str(escape(paragraph))
    linked = _URL_RE.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    return Markup(linked.replace("\n", "<br>\n"))  # noqa: S704 - input escaped above


def text_to_html(text: str, *, lang: str, subject: str) -> str:
    """Wrap a plain-text body in the shared HTML layout, paragraph by paragraph."""
    paragraphs = [_linkify(p) for p in text.split("\n\n") if p.strip()]
    layout = _html_environment().get_template("_layout.html.jinja")
    return layout.render(lang=lang, subject=subject, paragraphs=paragraphs)


def fits_sms(text: str) -> bool:
    """Whether ``text`` goes as one GSM-7 SMS."""
    return len(text) <= SMS_LIMIT and set(text) <= GSM7


def _sms(tpl: Template, context: Mapping[str, Any]) -> str:
    """The SMS text: in full when it fits one SMS, else the short version.

    Templates write the place (or a digital meeting's link) only when ``sms_full`` is true and
    otherwise ``info_url``, a short link to the page that shows it in full. A place or a
    meeting link cut off mid-way sends people to the wrong door or a dead link, so nothing is
    ever truncated: either all of it, or the link to all of it.
    """
    text = _block(tpl, "sms", {**context, "sms_full": True})
    if fits_sms(text) or "info_url" not in context:
        return text
    return _block(tpl, "sms", {**context, "sms_full": False})


def render(
    template: str,
    lang: Language | str,
    context: Mapping[str, Any],
    *,
    channel: Channel = Channel.EMAIL,
) -> MessageContent:
    """Render ``template`` in ``lang`` for ``channel``.

    The context gets two helpers: ``when(dt)`` (long date, Oslo time) and ``short_when(dt)``
    (for SMS). For SMS only the ``sms`` block is used and there is neither subject nor HTML;
    an SMS that would not fit one message is rendered in its short form (see :func:`_sms`).

    Raises:
        UnknownTemplateError: if the template or language does not exist.
        jinja2.UndefinedError: if the context lacks a value the template uses.
    """
    if template not in TEMPLATES or str(lang) not in Language._value2member_map_:
        raise UnknownTemplateError(f"no template {template!r} in language {lang!r}")
    code = str(lang)
    channel = Channel(channel)
    full = {
        **context,
        "when": lambda dt: _when(dt, code),
        "short_when": lambda dt: _when(dt, code, short=True),
    }
    tpl = _environment().get_template(f"{code}/{template}.jinja")
    if channel is Channel.SMS:
        return MessageContent(subject="", text=_sms(tpl, full))
    subject = " ".join(_block(tpl, "subject", full).split())
    text = _block(tpl, "text", full)
    return MessageContent(
        subject=subject, text=text, html=text_to_html(text, lang=code, subject=subject)
    )
