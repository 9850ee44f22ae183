"""Participant pages about an existing sign-up: the receipt in another language, status,
answering, widening one's choices and withdrawal by receipt code, and a new code for a lost one.

A waiting person's status lists every change of their own choices that would place them (each
accepted with one POST) and a small form to add a meeting time, a language or a kind of group;
a change is saved, matching runs at once (:class:`intake.progress.Suggestions`), and the page
shows what came of it.

Its own module because these pages all start from a receipt code (or the contact behind it)
rather than from the sign-up form: the code comes in a POST body, never in a URL (see
:mod:`intake.web.pages`, which keeps the layout helpers, the sign-up and the receipt shown after
it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request, get, post
from litestar.di import Provide
from litestar.params import SkipValidation
from litestar.response import Template
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from intake import choices, interests, lapse, receipt
from intake.choices import ChoiceChange
from intake.crypto import ContactCipher
from intake.errors import Conflict, InvalidInterest, NotFound
from intake.progress import (
    Progress,
    Suggestions,
    answer_by_code,
    change_by_code,
    provide_suggestions,
    with_progress,
    withdraw_by_code,
)
from intake.recovery import reissue
from intake.registry import controller_for_receipt
from intake.schemas import Contact, InterestStatus, SuggestionOut
from intake.web import views
from intake.web.i18n import Translator
from intake.web.pages import (
    ProgressPort,
    RecoveryPort,
    _form_values,
    _receipt_page,
    error_page,
    page_language,
    render,
)
from intake.web.privacy import PrivacyTerms, lapse_policy
from intake.web.views import OSLO, long_date

SuggestionsPort = SkipValidation[Suggestions]
#: The re-check port comes from the composition root (see intake.progress.provide_suggestions).
_SUGGESTIONS = {"suggestions": Provide(provide_suggestions, sync_to_thread=False)}


@post("/kvittering", name="receipt-language")
async def receipt_language(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    privacy_terms: PrivacyTerms,
    progress: ProgressPort,
) -> Template:
    """The receipt again, in the language chosen on it: the code comes back in the POST body
    (its switch is a form), so the person keeps their code and it never enters a URL."""
    single, _ = await _form_values(request)
    lang = page_language(request, single.get("lang"))
    code = single.get("code", "").strip()[:40]
    try:
        found = await interests.status(db, code)
    except NotFound:
        # Withdrawn in another tab, or tampered with: the status page explains.
        looked_up = await _lookup(db, progress, Translator(lang), code)
        return await _status_page(request, db, privacy_terms, lang, code, looked_up)
    return await _receipt_page(
        request, db, privacy_terms, lang, found.receipt_code, organisation=found.organisation,
        served=found.served, contact=found.contact, remember_lang=True,
    )  # fmt: skip


@get("/status", name="status")
async def status_form(request: Request[Any, Any, Any]) -> Template:
    return render(request, "status.html", lang=page_language(request), errors={}, code="")


Found = tuple[views.StatusView | None, dict[str, str], int]


async def _lookup(
    db: AsyncSession,
    progress: Progress,
    t: Translator,
    code: str,
    suggestions: Suggestions | None = None,
) -> Found:
    return (await _look_up(db, progress, t, code, suggestions))[0]


async def _look_up(
    db: AsyncSession,
    progress: Progress,
    t: Translator,
    code: str,
    suggestions: Suggestions | None = None,
) -> tuple[Found, InterestStatus | None]:
    """The status in words, and (found) the status itself; with ``suggestions`` the status
    carries the changes that would place a waiting person."""
    try:
        receipt.normalise(code)
    except receipt.InvalidReceiptCode:
        msg = t.gettext("Write the code as on your receipt: ten letters and digits.")
        return (None, {"code": msg}, 422), None
    try:
        found = await with_progress(
            db,
            progress,
            await interests.status(db, code),
            t.lang,  # type: ignore[arg-type]
            suggestions,
        )
    except NotFound:
        msg = t.gettext("We found no sign-up with this code. Check that it is written correctly.")
        # status.html then says what to do about a lost code (status == 404).
        return (None, {"code": msg}, 404), None
    shown = found
    if found.explanation and found.suggestions:
        # The page lists every suggestion with its button: the explanation keeps the reason.
        for offer in found.suggestions:
            found_text = found.explanation.removesuffix(f" {offer.text}.")
            if found_text != found.explanation:
                shown = found.model_copy(update={"explanation": found_text})
                break
    return (views.status_in_words(t, shown), {}, 200), found


async def _status_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    terms: PrivacyTerms,
    lang: str,
    code: str,
    found: Found,
    *,
    remember_lang: bool = False,
    status_now: InterestStatus | None = None,
    changed: str | None = None,
    change_errors: dict[str, str] | None = None,
    kept: bool = False,
) -> Template:
    """The status page; a found sign-up also names who is responsible for its data. A waiting
    person (``status_now`` given) also sees every change that would place them, a form to
    widen their choices, and until when the registration is kept with a button to keep it
    (``intake.lapse``); ``changed`` says what the last change did, ``kept`` that it was kept."""
    result, errors, status = found
    controller = (
        await controller_for_receipt(db, code, terms.national) if result is not None else None
    )
    widen = None
    keep_until = None
    if status_now is not None and status_now.status == "waiting" and status_now.id is not None:
        widen = await _widen_context(db, Translator(lang), status_now)
        until = await lapse.keep_until(
            db, status_now.id, lapse_policy(request), now=request.app.state.services.clock()
        )
        keep_until = long_date(until.astimezone(OSLO), lang) if until else None
    errors = {**errors, **(change_errors or {})}
    return render(
        request, "status.html", lang=lang, status=status, result=result, errors=errors,
        code=code, controller=controller, not_found=status == 404, remember_lang=remember_lang,
        widen=widen, changed=changed, keep_until=keep_until, kept=kept,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Widen:
    """What the status page offers a waiting person: the suggestions (each one click) and the
    choices they can still add (the "change my choices" form)."""

    offers: list[SuggestionOut]
    slots: list[tuple[str, str]]
    common_languages: list[tuple[str, str]]
    other_languages: list[tuple[str, str]]
    digital_welcome: bool
    cross_problem_welcome: bool


async def _widen_context(db: AsyncSession, t: Translator, found: InterestStatus) -> Widen | None:
    assert found.id is not None
    now_choices = await choices.current(db, found.id)
    if now_choices is None:
        return None
    days = dict(views.weekday_names(t.lang))
    parts = dict(views.part_names(t))
    slots = [
        (s, f"{days[s.split('-')[0]]} {parts[s.split('-')[1]].lower()}")
        for s in now_choices.open_slots()
    ]
    open_langs = set(now_choices.open_languages())
    common, rest = views.language_choices(t.lang)
    return Widen(
        offers=list(found.suggestions),
        slots=slots,
        common_languages=[(c, n) for c, n in common if c in open_langs],
        other_languages=[(c, n) for c, n in rest if c in open_langs],
        digital_welcome=now_choices.digital_welcome,
        cross_problem_welcome=now_choices.cross_problem_welcome,
    )


@post("/status", name="status-post", dependencies=_SUGGESTIONS)
async def status_post(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    privacy_terms: PrivacyTerms,
    progress: ProgressPort,
    suggestions: SuggestionsPort,
) -> Template:
    single, _ = await _form_values(request)
    lang = page_language(request, single.get("lang"))
    code = single.get("code", "").strip()[:40]
    found, now_status = await _look_up(db, progress, Translator(lang), code, suggestions)
    # "switch": the language switch of a page showing the code posted here (post_switch.html).
    return await _status_page(
        request, db, privacy_terms, lang, code, found, remember_lang=single.get("switch") == "yes",
        status_now=now_status,
    )  # fmt: skip


def _changes_from(single: dict[str, str]) -> list[ChoiceChange]:
    """The changes a form asked for: one suggestion's button (``kind`` and ``value``), or the
    "change my choices" form (a slot, a language, and the two welcomes, each optional)."""
    if single.get("kind"):
        return [ChoiceChange(single["kind"][:40], single.get("value") or None)]
    out = []
    if single.get("add_slot"):
        out.append(ChoiceChange(choices.ADD_SLOT, single["add_slot"][:20]))
    if single.get("add_language"):
        out.append(ChoiceChange(choices.ADD_LANGUAGE, single["add_language"][:20]))
    if single.get("welcome_digital") == "yes":
        out.append(ChoiceChange(choices.WELCOME_DIGITAL))
    if single.get("welcome_cross_problem") == "yes":
        out.append(ChoiceChange(choices.WELCOME_CROSS_PROBLEM))
    return out


@post("/status/valg", name="choices", dependencies=_SUGGESTIONS)
async def choices_post(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    privacy_terms: PrivacyTerms,
    progress: ProgressPort,
    suggestions: SuggestionsPort,
) -> Template:
    """Widen one's own choices with the receipt code (in the POST body): one suggestion in one
    click, or the small form. The change is saved, matching runs at once, and the page shows
    the effect: a group being put together, or the new reason and suggestions."""
    single, _ = await _form_values(request)
    lang = page_language(request, single.get("lang"))
    t = Translator(lang)
    code = single.get("code", "").strip()[:40]
    found, now_status = await _look_up(db, progress, t, code, suggestions)
    if now_status is None:
        return await _status_page(request, db, privacy_terms, lang, code, found)
    change_errors: dict[str, str] = {}
    changes = _changes_from(single)
    outcome = None
    if not changes:
        change_errors["add_slot"] = t.gettext(
            "Choose at least one change: a meeting time, a language, or a kind of group."
        )
    else:
        try:
            changed = await change_by_code(db, code, changes, now=now)
        except Conflict:
            # Not waiting any more: no form is shown, the summary points at the status.
            change_errors["status-text"] = t.gettext(
                "Your choices can only be changed while you wait for a group."
            )
        except InvalidInterest:
            change_errors["add_slot"] = t.gettext(
                "That change is not one we can make. Choose from the lists."
            )
        else:
            # Matching runs in its own transaction: it must see the change.
            await db.commit()
            ran = await suggestions.recheck(now=now) if changed else False
            outcome = "checked" if ran else "saved" if changed else "same"
            found, now_status = await _look_up(db, progress, t, code, suggestions)
    status = 400 if change_errors else found[2]
    return await _status_page(
        request, db, privacy_terms, lang, code, (found[0], found[1], status),
        status_now=now_status, changed=outcome, change_errors=change_errors,
    )  # fmt: skip


@post("/status/trekk", name="withdraw")
async def withdraw_post(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    privacy_terms: PrivacyTerms,
    progress: ProgressPort,
) -> Template:
    """Withdrawal takes two steps: this page asks, the same form with ``confirm=yes`` acts."""
    single, _ = await _form_values(request)
    lang = page_language(request, single.get("lang"))
    code = single.get("code", "").strip()[:40]
    found = await _lookup(db, progress, Translator(lang), code)
    if found[0] is None:
        return await _status_page(request, db, privacy_terms, lang, code, found)
    if single.get("confirm") != "yes":
        return render(request, "withdraw.html", lang=lang, code=code, done=False)
    await withdraw_by_code(db, progress, code, now=now)
    return render(request, "withdraw.html", lang=lang, code="", done=True)


@post("/status/behold", name="keep", dependencies=_SUGGESTIONS)
async def keep_post(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    privacy_terms: PrivacyTerms,
    progress: ProgressPort,
    suggestions: SuggestionsPort,
) -> Template:
    """ "Keep me on the list" with the receipt code (in the POST body): a new sign of life, so
    the registration is kept another full period; the page shows the new date."""
    single, _ = await _form_values(request)
    lang = page_language(request, single.get("lang"))
    t = Translator(lang)
    code = single.get("code", "").strip()[:40]
    found, now_status = await _look_up(db, progress, t, code, suggestions)
    if now_status is None:
        return await _status_page(request, db, privacy_terms, lang, code, found)
    try:
        await lapse.keep_by_code(db, code, lapse_policy(request), now=now)
    except Conflict:
        # In a group now: nothing lapses, and the page says where the person stands.
        return await _status_page(request, db, privacy_terms, lang, code, found,
                                  status_now=now_status)  # fmt: skip
    return await _status_page(
        request, db, privacy_terms, lang, code, found, status_now=now_status, kept=True
    )


@post("/status/svar", name="answer", dependencies=_SUGGESTIONS)
async def answer_post(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    progress: ProgressPort,
    privacy_terms: PrivacyTerms,
    suggestions: SuggestionsPort,
) -> Template:
    """Yes or no to a group, for people who left no way to be reached (code in the form).
    Someone who says no is back on the waiting list and sees their suggestions again."""
    single, _ = await _form_values(request)
    lang = page_language(request, single.get("lang"))
    t = Translator(lang)
    code = single.get("code", "").strip()[:40]
    found = await _lookup(db, progress, t, code)
    now_status = None
    if found[0] is not None and found[0].can_answer:
        await answer_by_code(db, progress, code, accept=single.get("accept") == "yes", now=now)
        found, now_status = await _look_up(db, progress, t, code, suggestions)
    return await _status_page(request, db, privacy_terms, lang, code, found, status_now=now_status)


@get("/status/ny-kode", name="lost-code")
async def lost_code_form(request: Request[Any, Any, Any]) -> Template:
    return render(request, "lost_code.html", lang=page_language(request), contact="", sent=False)


def _parse_contact(value: str) -> Contact | None:
    """What the person typed, read as the sign-up form reads it (so the digests agree)."""
    try:
        return Contact(email=value) if "@" in value else Contact(phone=value)
    except ValidationError:
        return None


@post("/status/ny-kode", name="lost-code-post")
async def lost_code_post(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    cipher: ContactCipher,
    now: datetime,
    recovery: RecoveryPort,
) -> Template:
    """New receipt codes for every registration with this contact, sent to that contact.

    The answer is the same page whether or not anything matched. A client that asks too often
    gets 429; an address asked for too often gets nothing more (silently: the page must not
    reveal that the address is registered), so nobody can flood a person with messages.
    """
    single, _ = await _form_values(request)
    lang = page_language(request, single.get("lang"))
    t = Translator(lang)
    typed = single.get("contact", "").strip()[:254]
    client = request.client.host if request.client else "?"
    if not recovery.per_client.allow(client):
        return error_page(request, 429, lang)
    contact = _parse_contact(typed)
    if contact is None:
        msg = t.gettext("Write an e-mail address, or a Norwegian mobile number of 8 digits.")
        return render(
            request, "lost_code.html", lang=lang, status=422, contact=typed, sent=False,
            errors={"contact": msg},
        )  # fmt: skip
    if recovery.per_address.allow(cipher.lookup_digest(contact.kind, contact.value)):
        codes = await reissue(db, cipher, kind=contact.kind, address=contact.value, now=now)
        if codes:
            await recovery.sender.send_codes(
                db, kind=contact.kind, address=contact.value, codes=codes, lang=lang, now=now
            )
    return render(request, "lost_code.html", lang=lang, contact="", sent=True)


STATUS_HANDLERS: list[Any] = [
    status_form,
    status_post,
    choices_post,
    withdraw_post,
    keep_post,
    answer_post,
    receipt_language,
    lost_code_form,
    lost_code_post,
]
