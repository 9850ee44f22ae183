"""A person's record (``/ansatt/venteliste/{id}``): their choices, how long they have waited,
why they still wait and every single change that would place them (each accepted for them in
one click after a phone call), the notes kept with the record; the contact masked until a staff
member opens it; changing their choices on their behalf (with a note) and withdrawing on their
behalf.

Every view and action is audited (``interest.view``, ``interest.contact``, ``interest.change``,
``interest.withdraw``) and needs the second factor (``health_viewer``). Someone outside the
viewer's scope answers exactly like an id that never existed (404).

Nothing here knows how people are placed or erased: the explanation and the withdrawal go
through intake's :class:`intake.progress.Progress` port, the same one the participant's own
status page uses, so a withdrawal by staff is the participant's withdrawal (their group is told,
the registration erased, anonymous counts kept).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.params import SkipValidation
from litestar.response import Redirect
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from intake import choices, lapse
from intake.choices import ChoiceChange
from intake.consent import CURRENT_VERSION
from intake.crypto import ContactCipher
from intake.errors import Conflict, FieldProblem, InvalidInterest
from intake.interests import CONTACT_CONTEXT, check_choices
from intake.progress import Locale, Offer, Suggestions, provide_suggestions
from intake.reference import CROSS_PROBLEM
from intake.schemas import InterestIn, age_band_label
from intake.tables import interest
from intake.web.forms import Messages, schema_errors, service_errors
from intake.web.pages import ProgressPort
from intake.web.privacy import lapse_policy
from intake.web.views import OSLO, long_date
from staff import audit, notes
from staff.access import Viewer
from staff.choices_form import ChoicesForm, form_context
from staff.people import Person, find
from staff.render import language, render
from staff.waiting import Words

_LOCALES: dict[str, Locale] = {"nb": "nb", "nn": "nn", "en": "en"}
SuggestionsPort = SkipValidation[Suggestions]
#: The suggestions and the re-check come from the composition root (intake.progress).
_SUGGESTIONS = {"suggestions": Provide(provide_suggestions, sync_to_thread=False)}


async def _person_or_404(
    db: AsyncSession, viewer: Viewer, interest_id: uuid.UUID, *, lock: bool = False
) -> Person:
    found = await find(db, viewer, interest_id, lock=lock)
    if found is None:
        raise NotFoundException("no such person on your waiting list")
    return found


def _ok(t: Words, key: str | None) -> str | None:
    _ = t.t.gettext
    return {
        "changed": _("Their choices are changed, and your note is kept with the record."),
        "accepted": _(
            "Their choices are changed, and matching has looked for a group for them again."
        ),
        "accepted-later": _(
            "Their choices are changed. The next matching run looks for a group for them."
        ),
        "accepted-same": _("They had already chosen this, so nothing was changed."),
        "registered": _("The person is registered."),
        "sent": _("The receipt code is sent."),
        "kept": _("They stay on the waiting list: the date below has moved."),
    }.get(key or "")


async def _record_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Viewer,
    progress: Any,
    person: Person,
    now: datetime,
    *,
    suggestions: Suggestions,
    contact: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response[str]:
    lang = language(request)
    words = Words(lang)
    explanation = step = keep_until = None
    offers: list[Offer] = []
    if person.status == "waiting":
        # When the registration lapses unless they show a sign of life (intake.lapse).
        until = await lapse.keep_until(db, person.id, lapse_policy(request), now=now)
        keep_until = long_date(until.astimezone(OSLO), lang) if until else None
        found = await progress.waiting_explanations(db, [person.id], _LOCALES[lang])
        explanation = found.get(person.id)
        offers = (await suggestions.offers(db, [person.id], _LOCALES[lang])).get(person.id, [])
        for offer in offers:  # listed below with its button: the explanation keeps the reason
            if explanation and explanation.endswith(f" {offer.text}."):
                explanation = explanation.removesuffix(f" {offer.text}.")
                break
    else:
        step = await progress.group_step(db, person.id, _LOCALES[lang])
    return render(
        request,
        "person.html",
        viewer=viewer,
        section="waiting",
        status=status,
        p=person,
        words=words,
        now=now,
        age=age_band_label(person.extra["age_band"]),
        explanation=explanation,
        offers=offers,
        step=step,
        keep_until=keep_until,
        notes=await notes.of(db, person.id),
        contact=contact,
        ok=_ok(words, request.query_params.get("ok")),
        error=error,
    )


@get("/venteliste/{interest_id:uuid}", name="staff-person", dependencies=_SUGGESTIONS)
async def person_page(
    request: Request[Any, Any, Any],
    interest_id: uuid.UUID,
    db: AsyncSession,
    health_viewer: Viewer,
    progress: ProgressPort,
    suggestions: SuggestionsPort,
    now: datetime,
) -> Response[str]:
    person = await _person_or_404(db, health_viewer, interest_id)
    await audit.record(
        db, health_viewer, "interest.view", now=now, record_kind="interest",
        record_id=person.id, organisation_id=person.organisation_id,
        region_slug=person.region_slug, request=request,
    )  # fmt: skip
    return await _record_page(
        request, db, health_viewer, progress, person, now, suggestions=suggestions
    )


@post(
    "/venteliste/{interest_id:uuid}/kontakt",
    name="staff-person-contact",
    status_code=200,
    dependencies=_SUGGESTIONS,
)
async def show_contact(
    request: Request[Any, Any, Any],
    interest_id: uuid.UUID,
    db: AsyncSession,
    health_viewer: Viewer,
    progress: ProgressPort,
    suggestions: SuggestionsPort,
    cipher: ContactCipher,
    now: datetime,
) -> Response[str]:
    """The contact in clear, on this response only (a reload asks again, and is audited)."""
    person = await _person_or_404(db, health_viewer, interest_id)
    sealed = await db.scalar(select(interest.c.contact_encrypted).where(interest.c.id == person.id))
    clear = cipher.decrypt(sealed, context=CONTACT_CONTEXT) if sealed else None
    await audit.record(
        db, health_viewer, "interest.contact", now=now, record_kind="interest",
        record_id=person.id, organisation_id=person.organisation_id,
        region_slug=person.region_slug, request=request,
    )  # fmt: skip
    return await _record_page(
        request, db, health_viewer, progress, person, now, suggestions=suggestions, contact=clear
    )


def _change_page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    person: Person,
    form: ChoicesForm,
    errors: dict[str, str],
    *,
    status: int = 200,
) -> Response[str]:
    return render(
        request,
        "person_change.html",
        viewer=viewer,
        section="waiting",
        status=status,
        p=person,
        form=form,
        errors=errors,
        **form_context(language(request)),
    )


@get("/venteliste/{interest_id:uuid}/endre", name="staff-person-change")
async def change_form(
    request: Request[Any, Any, Any], interest_id: uuid.UUID, db: AsyncSession, health_viewer: Viewer
) -> Response[str]:
    person = await _person_or_404(db, health_viewer, interest_id)
    return _change_page(request, health_viewer, person, ChoicesForm.of(person), {})


def _validated(
    person: Person, form: ChoicesForm, messages: Messages
) -> tuple[InterestIn | None, dict[str, str]]:
    """The changed choices checked by the very rules of a sign-up: the person's other answers
    as they are, the new choices in their place."""
    payload = {
        "municipality": person.municipality_number,
        "themes": [t for t in form.themes if t != CROSS_PROBLEM.slug][:5],
        "cross_problem_welcome": CROSS_PROBLEM.slug in form.themes,
        "age_band": age_band_label(person.extra["age_band"]),
        "gender": person.extra["gender"],
        "same_gender": person.extra["same_gender"],
        "languages": form.languages,
        "availability": form.availability,
        "digital_welcome": form.digital_welcome,
        "consent": {"given": True, "text_version": CURRENT_VERSION},
    }
    try:
        data = InterestIn.model_validate(payload)
    except ValidationError as exc:
        errors = schema_errors(exc, messages)
        if not form.themes:
            errors.setdefault("themes", messages.by_field["themes"])
        return None, errors
    problems: list[FieldProblem] = []
    check_choices(data, problems)
    return (None, service_errors(problems, messages)) if problems else (data, {})


@post("/venteliste/{interest_id:uuid}/endre", name="staff-person-change-post")
async def change_post(
    request: Request[Any, Any, Any],
    interest_id: uuid.UUID,
    db: AsyncSession,
    health_viewer: Viewer,
    now: datetime,
) -> Response[Any]:
    person = await _person_or_404(db, health_viewer, interest_id, lock=True)
    form = await ChoicesForm.from_request(request)
    t = Words(language(request)).t
    data, errors = _validated(person, form, Messages(t))
    if not (notes.NOTE_MIN <= len(form.note) <= notes.NOTE_MAX):
        errors["note"] = t.gettext("Write a short note on why you change their choices.")
    if person.status != "waiting":
        errors["themes"] = t.gettext(
            "Only the choices of someone still waiting can be changed: they are in a group now."
        )
    if data is None or errors:
        return _change_page(request, health_viewer, person, form, errors, status=400)
    changes = {
        "themes": data.themes,
        "cross_problem_welcome": data.cross_problem_welcome,
        "languages": data.languages,
        "slots": data.availability,
        "digital_welcome": data.digital_welcome,
    }
    before = {
        "themes": person.themes,
        "cross_problem_welcome": person.cross_problem_welcome,
        "languages": person.languages,
        "slots": person.slots,
        "digital_welcome": person.digital_welcome,
    }
    changed = sorted(k for k in changes if changes[k] != before[k])
    # The waiting time stays: a change of choices keeps the person's place in line.
    await db.execute(
        update(interest).where(interest.c.id == person.id).values(**changes, updated_at=now)
    )
    await notes.add(db, health_viewer, person.id, form.note, what="change", now=now)
    await audit.record(
        db, health_viewer, "interest.change", now=now, record_kind="interest",
        record_id=person.id, organisation_id=person.organisation_id,
        region_slug=person.region_slug, request=request, detail={"fields": changed},
    )  # fmt: skip
    return Redirect(f"/ansatt/venteliste/{person.id}?ok=changed", status_code=303)


#: The column each kind of change widens (the audit names fields, never their values).
_FIELD_OF = {
    choices.ADD_SLOT: "slots",
    choices.ADD_LANGUAGE: "languages",
    choices.WELCOME_DIGITAL: "digital_welcome",
    choices.WELCOME_CROSS_PROBLEM: "cross_problem_welcome",
}


@post(
    "/venteliste/{interest_id:uuid}/forslag",
    name="staff-person-suggestion",
    dependencies=_SUGGESTIONS,
)
async def accept_suggestion(
    request: Request[Any, Any, Any],
    interest_id: uuid.UUID,
    db: AsyncSession,
    health_viewer: Viewer,
    progress: ProgressPort,
    suggestions: SuggestionsPort,
    now: datetime,
) -> Response[Any]:
    """One of the person's suggestions, accepted for them after they said yes (on the phone):
    the same change as their own one click on the status page (``intake.choices.apply`` with
    actor "staff"), audited as ``interest.change``, then matching runs at once."""
    person = await _person_or_404(db, health_viewer, interest_id, lock=True)
    body = await request.form()
    change = ChoiceChange(
        str(body.get("kind") or "")[:40], str(body.get("value") or "")[:20] or None
    )
    t = Words(language(request)).t
    try:
        changed = await choices.apply(db, person.id, [change], now=now, actor="staff")
    except (InvalidInterest, Conflict) as exc:
        error = (
            t.gettext(
                "Only the choices of someone still waiting can be changed: they are in a group now."
            )
            if isinstance(exc, Conflict)
            else t.gettext("That change is not one of the suggestions. Nothing was changed.")
        )
        return await _record_page(
            request, db, health_viewer, progress, person, now,
            suggestions=suggestions, error=error, status=400,
        )  # fmt: skip
    await audit.record(
        db, health_viewer, "interest.change", now=now, record_kind="interest",
        record_id=person.id, organisation_id=person.organisation_id,
        region_slug=person.region_slug, request=request,
        detail={"fields": [_FIELD_OF[change.kind]] if changed else [], "via": "suggestion"},
    )  # fmt: skip
    # Matching runs in its own transaction: it must see the change (and the audit row stays
    # even if the run fails).
    await db.commit()
    ran = await suggestions.recheck(now=now) if changed else False
    ok = "accepted" if ran else "accepted-later" if changed else "accepted-same"
    return Redirect(f"/ansatt/venteliste/{person.id}?ok={ok}", status_code=303)


@post("/venteliste/{interest_id:uuid}/behold", name="staff-person-keep", dependencies=_SUGGESTIONS)
async def keep_post(
    request: Request[Any, Any, Any],
    interest_id: uuid.UUID,
    db: AsyncSession,
    health_viewer: Viewer,
    progress: ProgressPort,
    suggestions: SuggestionsPort,
    now: datetime,
) -> Response[Any]:
    """ "Keep me on the list", said to staff (on the phone): the same sign of life as the
    person's own button (``intake.lapse.keep``), audited as ``interest.keep``."""
    person = await _person_or_404(db, health_viewer, interest_id, lock=True)
    if not await lapse.keep(db, person.id, now=now):
        t = Words(language(request)).t
        error = t.gettext("Only a registration that is waiting can lapse: nothing to keep.")
        return await _record_page(
            request, db, health_viewer, progress, person, now,
            suggestions=suggestions, error=error, status=400,
        )  # fmt: skip
    await audit.record(
        db, health_viewer, "interest.keep", now=now, record_kind="interest",
        record_id=person.id, organisation_id=person.organisation_id,
        region_slug=person.region_slug, request=request,
    )  # fmt: skip
    return Redirect(f"/ansatt/venteliste/{person.id}?ok=kept", status_code=303)


@get("/venteliste/{interest_id:uuid}/trekk", name="staff-person-withdraw")
async def withdraw_form(
    request: Request[Any, Any, Any], interest_id: uuid.UUID, db: AsyncSession, health_viewer: Viewer
) -> Response[str]:
    person = await _person_or_404(db, health_viewer, interest_id)
    return render(
        request, "person_withdraw.html", viewer=health_viewer, section="waiting", p=person
    )


@post("/venteliste/{interest_id:uuid}/trekk", name="staff-person-withdraw-post")
async def withdraw_post(
    request: Request[Any, Any, Any],
    interest_id: uuid.UUID,
    db: AsyncSession,
    health_viewer: Viewer,
    progress: ProgressPort,
    now: datetime,
) -> Response[Any]:
    """The participant's own withdrawal, done for them: their group lets them go, then the
    registration (and the notes kept with it) is erased; the audit row says who and when."""
    person = await _person_or_404(db, health_viewer, interest_id, lock=True)
    await audit.record(
        db, health_viewer, "interest.withdraw", now=now, record_kind="interest",
        record_id=person.id, organisation_id=person.organisation_id,
        region_slug=person.region_slug, request=request,
    )  # fmt: skip
    await progress.withdraw(db, person.id, now=now)
    return Redirect("/ansatt/venteliste?ok=withdrawn", status_code=303)


ROUTES: list[Any] = [
    person_page,
    show_contact,
    change_form,
    change_post,
    accept_suggestion,
    keep_post,
    withdraw_form,
    withdraw_post,
]
