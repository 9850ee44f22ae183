"""Participant pages: front page, sign-up and its receipt, privacy and accessibility (issue 5).

Status, withdrawal and lost codes are in :mod:`intake.web.status_pages`.

Every page is server-rendered and works without JavaScript. The receipt is rendered directly as
the response to the sign-up POST (``Cache-Control: no-store``) and status is looked up by POSTing
the code: a receipt code never appears in a URL, so it never lands in an access log, a proxy
cache, the browser history or a ``Referer`` header.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import SkipValidation
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from intake import interests, referrals
from intake.consent import CURRENT_VERSION
from intake.consent import TEXTS as CONSENT_TEXTS
from intake.crypto import ContactCipher
from intake.errors import InvalidInterest
from intake.progress import Progress
from intake.recovery import Recovery
from intake.reference import CROSS_PROBLEM, THEMES
from intake.registry import (
    Organisation,
    controller_for_receipt,
    controller_of,
    list_organisations,
    organisation_by_ref,
)
from intake.schemas import AGE_BANDS
from intake.web import views
from intake.web.forms import Messages, SignupForm, ordered, service_errors, validate
from intake.web.i18n import LANGS, NATIVE_NAMES, Translator, negotiate
from intake.web.privacy import PrivacyTerms, lapse_policy, periods

log = logging.getLogger("samhjelp.pages")

NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
#: The injected port is a Protocol: Litestar must pass it through, not validate it.
ProgressPort = SkipValidation[Progress]
RecoveryPort = SkipValidation[Recovery]


def page_language(request: Request[Any, Any, Any], posted: str | None = None) -> str:
    return negotiate(
        posted or request.query_params.get("lang"),
        request.cookies.get("lang"),
        request.headers.get("accept-language"),
    )


def render(
    request: Request[Any, Any, Any],
    name: str,
    *,
    lang: str,
    status: int = 200,
    remember_lang: bool = False,
    **context: Any,
) -> Template:
    """Render a page in ``lang``; a language chosen with ``?lang=`` (or, on a page showing a
    receipt code, with the switch's POST form: ``remember_lang``) is remembered in a cookie."""
    t = Translator(lang)
    cookies = []
    if remember_lang or request.query_params.get("lang") in LANGS:
        cookies.append(
            Cookie(key="lang", value=lang, max_age=365 * 86400, httponly=True, samesite="lax")
        )
    return Template(
        template_name=name,
        context={
            "lang": lang,
            "languages": list(NATIVE_NAMES.items()),
            "errors": {},
            "server_error": None,
            "referral_note": None,
            "result": None,
            # How long a waiting registration is kept, in words: every page that promises a
            # retention time quotes the configured one (intake.lapse).
            **periods(t, lapse_policy(request)),
            **t.template_globals(),
            **context,
        },
        status_code=status,
        headers={**NO_STORE, "Content-Language": lang},
        cookies=cookies,
    )


def error_page(request: Request[Any, Any, Any], status: int, lang: str | None = None) -> Template:
    """A calm HTML error page instead of the API's problem+json."""
    lang = lang or page_language(request)
    t = Translator(lang)
    if status == 404:
        title = t.gettext("Page not found")
        text = t.gettext("The page or link does not exist, or it has expired.")
    elif status == 403:
        title = t.gettext("The form had expired")
        text = t.gettext(
            "For your safety, forms expire. Go back, reload the page and send it again."
        )
    elif status == 429:
        title = t.gettext("Too many attempts")
        text = t.gettext("Please wait a minute and try again.")
    else:
        title = t.gettext("Something went wrong on our side")
        text = t.gettext("Please try again in a little while.")
    return render(request, "error.html", lang=lang, status=status, title=title, text=text)


@get("/", name="home")
async def home(request: Request[Any, Any, Any]) -> Template:
    return render(request, "home.html", lang=page_language(request))


async def _serving(db: AsyncSession, municipality: str) -> list[Organisation]:
    if len(municipality) == 4 and municipality.isdigit():
        return await list_organisations(db, municipality_number=municipality)
    return []


async def _form_context(
    db: AsyncSession,
    t: Translator,
    form: SignupForm,
    errors: dict[str, str],
    terms: PrivacyTerms,
) -> dict[str, Any]:
    names = views.theme_names(t.lang)
    common, rest = views.language_choices(t.lang)
    organisations = await _serving(db, form.municipality)
    return {
        "form": form,
        "errors": errors,
        "municipalities": await views.municipalities_by_county(db),
        "organisations": organisations,
        "cross": CROSS_PROBLEM,
        "cross_name": names[CROSS_PROBLEM.slug],
        "themes": [(th.slug, names[th.slug]) for th in THEMES],
        "age_bands": AGE_BANDS,
        "band_label": lambda band: views.age_band_label(t, band),
        "genders": views.gender_choices(t),
        "common_languages": common,
        "other_languages": rest,
        "other_languages_chosen": any(c in form.languages for c, _ in rest),
        "weekdays": views.weekday_names(t.lang),
        "parts": views.part_names(t),
        "consent_version": form.consent_version,
        "erase_after_days": terms.erase_after_days,
        "consent_text": CONSENT_TEXTS.get(form.consent_version, CONSENT_TEXTS[CURRENT_VERSION])[
            t.lang
        ],
    }


async def _referral_note(db: AsyncSession, t: Translator, ref: str, now: datetime) -> str | None:
    """What a referred person is told; ``None`` if the link is unknown or expired."""
    try:
        _, target = await referrals.resolve_link(db, ref, today=now.date())
    except InvalidInterest:
        return None
    if target is None:
        return t.gettext(
            "You came here through a link from a course. Only the course learns, as a number, "
            "that someone signed up: never who."
        )
    org = await organisation_by_ref(db, str(target))
    return t.gettext(
        "You came here through a link from a course. We sign you up with %(org)s, if it "
        "starts groups where you live.",
        org=org.name,
    )


@get("/meld-interesse", name="signup")
async def signup_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    privacy_terms: PrivacyTerms,
    ref: str | None = None,
) -> Template:
    lang = page_language(request)
    t = Translator(lang)
    form = SignupForm()
    note = None
    if ref:
        note = await _referral_note(db, t, ref[:20], now)
        if note is None:
            note = t.gettext(
                "The link you followed is unknown or has expired. You can still sign up here."
            )
        else:
            form.ref = ref[:20].strip().upper()
    context = await _form_context(db, t, form, {}, privacy_terms)
    return render(request, "signup.html", lang=lang, referral_note=note, **context)


async def _form_values(
    request: Request[Any, Any, Any],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    body = await request.form()
    multi = {k: [str(v) for v in body.getall(k)] for k in body}
    return {k: v[0] for k, v in multi.items() if v}, multi


@post("/meld-interesse", name="signup-post")
async def signup_post(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    cipher: ContactCipher,
    now: datetime,
    privacy_terms: PrivacyTerms,
) -> Template:
    single, multi = await _form_values(request)
    lang = page_language(request, single.get("lang"))
    t = Translator(lang)
    form = SignupForm.parse(single, multi)
    form.message_language = lang
    if form.honeypot:
        log.info("sign-up honeypot filled; nothing stored")
        return error_page(request, 400, lang)
    messages = Messages(t)
    data, errors = validate(form, messages)
    server_error = None
    if data is not None:
        try:
            done = await referrals.register_self(
                db, data, cipher=cipher, now=now, strict_link=False
            )
        except InvalidInterest as exc:
            errors = service_errors(exc.problems, messages)
        except Exception:
            # Keep what the person typed: show the form again with everything filled in.
            log.exception("sign-up failed")
            await db.rollback()
            server_error = t.gettext(
                "Sorry, something went wrong on our side and nothing was saved. What you "
                "entered is still here: please try to send it again in a moment."
            )
        else:
            contact = (
                interests.mask_contact(data.contact.kind, data.contact.value)
                if data.contact
                else None
            )
            return await _receipt_page(
                request, db, privacy_terms, lang, done.receipt_code,
                organisation=done.organisation, served=done.served, contact=contact,
            )  # fmt: skip
    if errors and "organisation" not in errors and not (form.organisation or form.ref):
        # Ask for the organisation in the same round as the other problems, not one later.
        serving = await _serving(db, form.municipality)
        if len(serving) > 1:
            errors = ordered({**errors, "organisation": messages.by_field["organisation"]})
    context = await _form_context(db, t, form, errors, privacy_terms)
    status = 503 if server_error else 422
    return render(
        request, "signup.html", lang=lang, status=status, server_error=server_error,
        referral_note=None, **context,
    )  # fmt: skip


async def _receipt_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    terms: PrivacyTerms,
    lang: str,
    code: str,
    *,
    organisation: str | None,
    served: bool,
    contact: str | None,
    remember_lang: bool = False,
) -> Template:
    """The receipt: shown once after sign-up, and again in another language from its switch."""
    t = Translator(lang)
    where = (
        t.gettext("You are on the waiting list at %(org)s.", org=organisation)
        if served
        else t.gettext(
            "No place starts groups in your municipality yet. Your interest is counted "
            "as demand in your region, and you keep your place in line if one starts."
        )
    )
    controller = await controller_for_receipt(db, code, terms.national)
    return render(
        request, "receipt.html", lang=lang, code=code, where=where, contact=contact,
        controller=controller, terms=terms, remember_lang=remember_lang,
    )  # fmt: skip


@get("/personvern", name="privacy")
async def privacy(
    request: Request[Any, Any, Any], db: AsyncSession, privacy_terms: PrivacyTerms
) -> Template:
    """Names the data controller of every organisation, and the national one as fallback."""
    controllers = [
        controller_of(org, privacy_terms.national) for org in await list_organisations(db)
    ]
    return render(
        request, "privacy.html", lang=page_language(request), controllers=controllers,
        national=privacy_terms.national, terms=privacy_terms,
    )  # fmt: skip


@get("/tilgjengelighet", name="accessibility")
async def accessibility(request: Request[Any, Any, Any]) -> Template:
    lang = page_language(request)
    created = views.long_date(datetime(2026, 11, 23), lang)
    updated = views.long_date(datetime(2026, 12, 1), lang)
    return render(
        request, "accessibility.html", lang=lang, created=created, updated=updated,
        criteria=views.CRITERIA,
    )  # fmt: skip


PAGE_HANDLERS: list[Any] = [
    home,
    signup_form,
    signup_post,
    privacy,
    accessibility,
]

__all__ = ["PAGE_HANDLERS", "Response", "error_page", "render"]
