"""Register a person after a phone call (``/ansatt/venteliste/ny``).

The same fields, rules and messages as the participant's own sign-up form
(:mod:`intake.web.forms`, :func:`intake.interests.prepare`), stored with ``source = 'staff'``.
The consent is the person's own, given on the phone: the staff member reads the current consent
text (shown on the form) and ticks that the person agreed. The municipality must be one the
viewer may act for (a coordinator may also register unmet demand in their region).

The receipt code is shown once, to read out; only its hash is stored. If the person gave an
address or a mobile number, the result page offers to send the code there too: the code comes
back in that form's POST body (never a URL) and must match the stored hash.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import interests, receipt
from intake.consent import CURRENT_VERSION
from intake.consent import TEXTS as CONSENT_TEXTS
from intake.crypto import ContactCipher
from intake.recovery import NewCode
from intake.registry import list_organisations
from intake.schemas import AGE_BANDS
from intake.tables import catchment, county, interest, municipality, organisation
from intake.web import views
from intake.web.forms import Messages, SignupForm, ordered, service_errors, validate
from intake.web.i18n import Translator
from intake.web.pages import RecoveryPort
from staff import audit
from staff.access import Role, Viewer
from staff.choices_form import form_context, form_values
from staff.people import in_scope
from staff.render import language, render


async def _allowed_municipalities(db: AsyncSession, viewer: Viewer) -> set[str] | None:
    """Where the viewer may register people (None: everywhere, for administrators)."""
    if viewer.role is Role.ADMINISTRATOR:
        return None
    orgs = await viewer.organisations(db)
    found = set(
        (
            await db.scalars(
                select(catchment.c.municipality_number).where(catchment.c.organisation_id.in_(orgs))
            )
        ).all()
    )
    if viewer.role is Role.COORDINATOR and viewer.region_slug:
        found |= set(
            (
                await db.scalars(
                    select(municipality.c.number)
                    .join(county, county.c.number == municipality.c.county_number)
                    .where(county.c.region_slug == viewer.region_slug)
                )
            ).all()
        )
    return found


async def _page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Viewer,
    form: SignupForm,
    errors: dict[str, str],
    *,
    status: int = 200,
) -> Response[str]:
    lang = language(request)
    t = Translator(lang)
    allowed = await _allowed_municipalities(db, viewer)
    counties = [
        (name, [p for p in places if allowed is None or p.number in allowed])
        for name, places in await views.municipalities_by_county(db)
    ]
    serving = []
    if len(form.municipality) == 4 and form.municipality.isdigit():
        mine = set(await viewer.organisations(db))
        serving = [
            o
            for o in await list_organisations(db, municipality_number=form.municipality)
            if o.id in mine
        ]
    consent = CONSENT_TEXTS[CURRENT_VERSION][lang]
    return render(
        request,
        "phone_new.html",
        viewer=viewer,
        section="waiting",
        status=status,
        form=form,
        errors=errors,
        municipalities=[(c, ps) for c, ps in counties if ps],
        organisations=serving,
        age_bands=AGE_BANDS,
        band_label=lambda band: views.age_band_label(t, band),
        genders=views.gender_choices(t),
        consent_text=consent,
        consent_version=CURRENT_VERSION,
        **form_context(lang),
    )


@get("/venteliste/ny", name="staff-phone")
async def phone_form(
    request: Request[Any, Any, Any], db: AsyncSession, health_viewer: Viewer
) -> Response[str]:
    return await _page(request, db, health_viewer, SignupForm(), {})


def _messages(t: Translator) -> Messages:
    """The sign-up's messages, with the consent one said to the staff member."""
    messages = Messages(t)
    messages.by_field["consent"] = t.gettext(
        "Read the consent text to the person. Tick the box only when they have agreed."
    )
    messages.by_field["municipality"] = t.gettext("Choose the municipality the person lives in.")
    messages.by_field["age_band"] = t.gettext(
        "Choose the person's age. Groups are for people aged 18 or over."
    )
    return messages


@post("/venteliste/ny", name="staff-phone-post", status_code=200)
async def phone_post(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    health_viewer: Viewer,
    cipher: ContactCipher,
    now: datetime,
) -> Response[str]:
    single, multi = await form_values(request)
    t = Translator(language(request))
    form = SignupForm.parse(single, multi)
    form.consent_version = CURRENT_VERSION
    messages = _messages(t)
    data, errors = validate(form, messages)
    if data is not None:
        # Staff of one organisation register for it when it serves the municipality.
        mine = await health_viewer.organisations(db)
        preferred = mine[0] if health_viewer.role is Role.STAFF and mine else None
        placement, problems = await interests.prepare(db, data, preferred_org=preferred)
        errors = service_errors(problems, messages)
        if placement is not None and not errors:
            allowed = await health_viewer.may_see_organisation(db, placement.organisation_id)
            regions = health_viewer.unmet_regions()
            if placement.organisation_id is None and regions is not None:
                allowed = allowed and placement.region_slug in regions
            if not allowed:
                errors["municipality"] = t.gettext(
                    "You may not register people in this municipality: none of your "
                    "organisations serves it."
                )
        if placement is not None and not errors:
            done = await interests.insert_interest(
                db, data, placement, cipher=cipher, source="staff", now=now
            )
            new_id = await db.scalar(
                select(interest.c.id).where(
                    interest.c.receipt_hash == receipt.code_hash(done.receipt_code)
                )
            )
            await audit.record(
                db, health_viewer, "interest.register", now=now, record_kind="interest",
                record_id=new_id, organisation_id=placement.organisation_id,
                region_slug=placement.region_slug, request=request,
            )  # fmt: skip
            return render(
                request, "phone_done.html", viewer=health_viewer, section="waiting",
                code=done.receipt_code, interest_id=new_id,
                where=done.organisation or placement.region_name,
                served=done.served, contact_kind=data.contact.kind if data.contact else None,
            )  # fmt: skip
    return await _page(request, db, health_viewer, form, ordered(errors), status=400)


@post("/venteliste/ny/send", name="staff-phone-send")
async def send_code(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    health_viewer: Viewer,
    cipher: ContactCipher,
    recovery: RecoveryPort,
    now: datetime,
) -> Response[Any]:
    """Send the receipt code just read out to the address the person gave."""
    single, _ = await form_values(request)
    try:
        interest_id = uuid.UUID(single.get("interest", ""))
        digest = receipt.code_hash(single.get("code", ""))
    except (ValueError, receipt.InvalidReceiptCode):
        raise NotFoundException("no such registration") from None
    row = (
        await db.execute(
            select(
                interest.c.id, interest.c.contact_kind, interest.c.contact_encrypted,
                interest.c.organisation_id, interest.c.region_slug, organisation.c.name,
            )
            .outerjoin(organisation, organisation.c.id == interest.c.organisation_id)
            .where(
                interest.c.id == interest_id, interest.c.receipt_hash == digest,
                await in_scope(db, health_viewer),
            )
        )
    ).first()  # fmt: skip
    if row is None or row.contact_encrypted is None:
        raise NotFoundException("no such registration")
    await recovery.sender.send_codes(
        db,
        kind=row.contact_kind,
        address=cipher.decrypt(row.contact_encrypted, context=interests.CONTACT_CONTEXT),
        codes=[NewCode(row.id, single["code"], row.organisation_id, row.name)],
        lang=language(request),
        now=now,
    )
    await audit.record(
        db, health_viewer, "interest.send_code", now=now, record_kind="interest",
        record_id=row.id, organisation_id=row.organisation_id, region_slug=row.region_slug,
        request=request,
    )  # fmt: skip
    return Redirect(f"/ansatt/venteliste/{row.id}?ok=sent", status_code=303)


ROUTES: list[Any] = [phone_form, phone_post, send_code]
