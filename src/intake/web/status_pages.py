"""Participant pages about an existing sign-up: the receipt in another language, status,
answering and withdrawal by receipt code, and a new code for a lost one.

Its own module because these pages all start from a receipt code (or the contact behind it)
rather than from the sign-up form: the code comes in a POST body, never in a URL (see
:mod:`intake.web.pages`, which keeps the layout helpers, the sign-up and the receipt shown after
it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get, post
from litestar.response import Template
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from intake import interests, receipt
from intake.crypto import ContactCipher
from intake.errors import NotFound
from intake.progress import Progress, answer_by_code, with_progress, withdraw_by_code
from intake.recovery import reissue
from intake.registry import controller_for_receipt
from intake.schemas import Contact
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
from intake.web.privacy import PrivacyTerms


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


async def _lookup(
    db: AsyncSession, progress: Progress, t: Translator, code: str
) -> tuple[views.StatusView | None, dict[str, str], int]:
    try:
        receipt.normalise(code)
    except receipt.InvalidReceiptCode:
        msg = t.gettext("Write the code as on your receipt: ten letters and digits.")
        return None, {"code": msg}, 422
    try:
        found = await with_progress(
            db,
            progress,
            await interests.status(db, code),
            t.lang,  # type: ignore[arg-type]
        )
    except NotFound:
        msg = t.gettext("We found no sign-up with this code. Check that it is written correctly.")
        # status.html then says what to do about a lost code (status == 404).
        return None, {"code": msg}, 404
    return views.status_in_words(t, found), {}, 200


async def _status_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    terms: PrivacyTerms,
    lang: str,
    code: str,
    found: tuple[views.StatusView | None, dict[str, str], int],
    *,
    remember_lang: bool = False,
) -> Template:
    """The status page; a found sign-up also names who is responsible for its data."""
    result, errors, status = found
    controller = (
        await controller_for_receipt(db, code, terms.national) if result is not None else None
    )
    return render(
        request, "status.html", lang=lang, status=status, result=result, errors=errors,
        code=code, controller=controller, not_found=status == 404, remember_lang=remember_lang,
    )  # fmt: skip


@post("/status", name="status-post")
async def status_post(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    privacy_terms: PrivacyTerms,
    progress: ProgressPort,
) -> Template:
    single, _ = await _form_values(request)
    lang = page_language(request, single.get("lang"))
    code = single.get("code", "").strip()[:40]
    found = await _lookup(db, progress, Translator(lang), code)
    # "switch": the language switch of a page showing the code posted here (post_switch.html).
    return await _status_page(
        request, db, privacy_terms, lang, code, found, remember_lang=single.get("switch") == "yes"
    )


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


@post("/status/svar", name="answer")
async def answer_post(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    progress: ProgressPort,
    privacy_terms: PrivacyTerms,
) -> Template:
    """Yes or no to a group, for people who left no way to be reached (code in the form)."""
    single, _ = await _form_values(request)
    lang = page_language(request, single.get("lang"))
    t = Translator(lang)
    code = single.get("code", "").strip()[:40]
    found = await _lookup(db, progress, t, code)
    if found[0] is not None and found[0].can_answer:
        await answer_by_code(db, progress, code, accept=single.get("accept") == "yes", now=now)
        found = await _lookup(db, progress, t, code)
    return await _status_page(request, db, privacy_terms, lang, code, found)


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
    withdraw_post,
    answer_post,
    receipt_language,
    lost_code_form,
    lost_code_post,
]
