"""The link pages for facilitators and participants: ``/s/<token>`` (no login needed).

GET shows what the link does and asks for a click (or a short form): mail scanners that
follow links must not accept a group on someone's behalf. POST does it, once. A forged link
answers 400, an old or used one 410, each with a kind page rather than an error. Pages are
bokmål, rendered with their own autoescaping Jinja environment; forms carry the site's CSRF
token, so they work whether or not ``/s/`` is exempt from CSRF checks.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response, get, post
from litestar.utils.scope.state import ScopeState
from sqlalchemy.ext.asyncio import AsyncSession

from groups import Lifecycle, LifecycleConfig, links
from groups.facilitators import OfferAnswer, answer_offer
from groups.links import Link, LinkProblem, Purpose
from groups.meetings import propose_first_meeting, record_checkin, record_followup
from groups.members import Answer, answer

OSLO = ZoneInfo("Europe/Oslo")

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

_PROBLEMS: dict[LinkProblem, tuple[int, str, str]] = {
    LinkProblem.FORGED: (
        400,
        "Lenken virker ikke",
        "Lenken er ikke gyldig. Kanskje ble den kuttet av da den ble kopiert? Prøv å åpne "
        "den direkte fra meldingen du fikk.",
    ),
    LinkProblem.EXPIRED: (
        410,
        "Lenken er for gammel",
        "Svarfristen for denne lenken er ute, så den virker ikke lenger. Du trenger ikke gjøre "
        "noe: vi har gått videre, og du får en ny melding hvis vi trenger svar fra deg.",
    ),
    LinkProblem.USED: (
        410,
        "Lenken er allerede brukt",
        "Denne lenken er allerede brukt, og hver lenke virker bare én gang. Svaret ditt er "
        "registrert.",
    ),
}

_GONE = (
    "Spørsmålet gjelder ikke lenger",
    "Dette spørsmålet gjelder ikke lenger – for eksempel fordi gruppen er avlyst, noen andre "
    "har svart, eller svaret allerede er registrert. Du trenger ikke gjøre noe.",
)

_ASK: dict[Purpose, tuple[str, list[str], str]] = {
    Purpose.OFFER_ACCEPT: (
        "Starte en ny gruppe?",
        ["Du er spurt om å være igangsetter for en ny selvhjelpsgruppe."],
        "Ja, jeg kan starte gruppen",
    ),
    Purpose.OFFER_DECLINE: (
        "Ikke denne gangen?",
        ["Takk for at du svarer. Da spør vi neste igangsetter."],
        "Nei, ikke denne gangen",
    ),
    Purpose.INVITE_ACCEPT: (
        "Kommer du på første møte?",
        ["Bekreft at du kommer på første gruppemøte."],
        "Ja, jeg kommer",
    ),
    Purpose.INVITE_DECLINE: (
        "Kan du ikke komme?",
        ["Da gir vi plassen til en annen. Du står i køen igjen med samme ventetid."],
        "Nei, jeg kan ikke",
    ),
    Purpose.PLACE_ACCEPT: (
        "Vil du ha plassen?",
        ["Det er en ledig plass til deg i en selvhjelpsgruppe."],
        "Ja takk, jeg vil ha plassen",
    ),
    Purpose.PLACE_DECLINE: (
        "Nei takk til plassen?",
        ["Da gir vi plassen til en annen. Du står fortsatt i køen med samme ventetid."],
        "Nei takk",
    ),
}

_REPORTS: dict[Purpose, tuple[str, str, bool]] = {
    Purpose.CHECKIN: ("Hvordan gikk møtet?", "Fortell kort hvordan møtet gikk.", True),
    Purpose.FOLLOWUP: (
        "Oppfølging av gruppen",
        "Registrer at du har fulgt opp gruppen (besøk eller samtale).",
        False,
    ),
    Purpose.REVIEW: ("Et halvt år med gruppen", "Går gruppen fortsatt?", False),
}


def _page(name: str, status: int = 200, **context: Any) -> Response[str]:
    html = _env.get_template(name).render(**context)
    return Response(html, status_code=status, media_type="text/html")


def _problem(problem: LinkProblem) -> Response[str]:
    status, title, message = _PROBLEMS[problem]
    return _page("problem.html", status, title=title, message=message)


def _gone() -> Response[str]:
    return _page("problem.html", 410, title=_GONE[0], message=_GONE[1])


def _lifecycle(request: Request[Any, Any, Any]) -> Lifecycle:
    services = request.app.state.services
    return Lifecycle(
        cipher=services.cipher,
        link_secret=str(services.extra.get("link_secret") or services.settings.link_secret),
        base_url=services.settings.public_base_url,
        config=services.extra.get("lifecycle_config") or LifecycleConfig(),
    )


def _csrf(request: Request[Any, Any, Any]) -> str:
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


def _when(at: datetime) -> str:
    return at.astimezone(OSLO).strftime("%d.%m.%Y kl. %H:%M")


def _meeting_values(form: Any) -> dict[str, str]:
    return {k: str(form.get(k, "")).strip() for k in ("date", "time", "place")}


def _parse_meeting(values: dict[str, str], now: datetime) -> tuple[datetime | None, list[str]]:
    errors = []
    try:
        day = datetime.strptime(values["date"], "%Y-%m-%d").date()
        at = time.fromisoformat(values["time"])
        start = datetime.combine(day, at, tzinfo=OSLO)
    except ValueError:
        return None, ["Skriv dato som ÅÅÅÅ-MM-DD og klokkeslett som TT:MM."]
    if start <= now:
        errors.append("Møtet må være fram i tid.")
    if not values["place"]:
        errors.append("Skriv hvor gruppen skal møtes.")
    return (None if errors else start), errors


@get("/s/{token:str}", include_in_schema=False)
async def show_link(
    token: str, request: Request[Any, Any, Any], db: AsyncSession, now: datetime
) -> Response[str]:
    """What the link does; nothing changes until the button is pressed."""
    lc = _lifecycle(request)
    found = await links.resolve(db, token, secret=lc.link_secret, now=now)
    if isinstance(found, LinkProblem):
        return _problem(found)
    csrf = _csrf(request)
    if found.purpose is Purpose.MEETING_FORM:
        values = {"date": "", "time": "", "place": ""}
        return _page(
            "meeting_form.html",
            title="Første møte",
            form_url="",
            csrf=csrf,
            errors=[],
            values=values,
        )
    if found.purpose in _REPORTS:
        title, intro, attended = _REPORTS[found.purpose]
        return _page(
            "report.html", title=title, intro=intro, ask_attended=attended, csrf=csrf, errors=[]
        )
    title, paragraphs, button = _ASK[found.purpose]
    return _page("confirm.html", title=title, paragraphs=paragraphs, button=button, csrf=csrf)


@post("/s/{token:str}", include_in_schema=False, status_code=200)
async def use_link(
    token: str, request: Request[Any, Any, Any], db: AsyncSession, now: datetime
) -> Response[str]:
    """Do what the link says, once. A 4xx answer rolls the request's transaction back."""
    lc = _lifecycle(request)
    found = await links.resolve(db, token, secret=lc.link_secret, now=now, lock=True)
    if isinstance(found, LinkProblem):
        return _problem(found)
    form = await request.form()
    response = await _act(db, lc, found, form, request, now=now)
    if (response.status_code or 200) < 400:
        await links.consume(db, found, now=now)
    return response


async def _act(
    db: AsyncSession,
    lc: Lifecycle,
    link: Link,
    form: Any,
    request: Request[Any, Any, Any],
    *,
    now: datetime,
) -> Response[str]:
    p = link.purpose
    if p in (Purpose.OFFER_ACCEPT, Purpose.OFFER_DECLINE):
        accept = p is Purpose.OFFER_ACCEPT
        outcome, form_url = await answer_offer(
            db, lc, link.object_id, link.subject_id, accept=accept, now=now
        )
        if outcome is OfferAnswer.GONE:
            return _gone()
        if outcome is OfferAnswer.DECLINED:
            return _page(
                "done.html",
                title="Takk for svaret",
                paragraphs=[
                    "Vi har registrert at du ikke kan starte denne gruppen. Vi spør en annen."
                ],
                form_url=None,
            )
        return _page(
            "done.html",
            title="Takk for at du starter gruppen!",
            paragraphs=[
                "Foreslå tid og sted for første møte nedenfor. Vil du gjøre det senere, kan du "
                f"bruke denne lenken (den virker i {lc.config.meeting_form_valid.days} dager): "
                f"{form_url}",
            ],
            form_url=form_url,
            csrf=_csrf(request),
            errors=[],
            values={"date": "", "time": "", "place": ""},
        )
    if p is Purpose.MEETING_FORM:
        values = _meeting_values(form)
        start, errors = _parse_meeting(values, now)
        if start is None:
            return _page(
                "meeting_form.html",
                400,
                title="Første møte",
                form_url="",
                csrf=_csrf(request),
                errors=errors,
                values=values,
            )
        if not await propose_first_meeting(
            db, lc, link.object_id, link.subject_id, starts_at=start, place=values["place"], now=now
        ):
            return _gone()
        return _page(
            "done.html",
            title="Invitasjonene er sendt",
            paragraphs=[
                f"Første møte er {_when(start)}, {values['place']}.",
                "Deltakerne får invitasjon med kalenderfil og svarer innen tre dager. Du får en "
                "påminnelse dagen før hvert møte og en kort spørsmålsrunde etterpå.",
            ],
            form_url=None,
        )
    if p in (
        Purpose.INVITE_ACCEPT,
        Purpose.INVITE_DECLINE,
        Purpose.PLACE_ACCEPT,
        Purpose.PLACE_DECLINE,
    ):
        accept = p in (Purpose.INVITE_ACCEPT, Purpose.PLACE_ACCEPT)
        states = (
            ("offered",)
            if p in (Purpose.PLACE_ACCEPT, Purpose.PLACE_DECLINE)
            else ("invited", "informed")
        )
        result = await answer(
            db, lc, link.object_id, link.subject_id, accept=accept, now=now, states=states
        )
        if result is Answer.GONE:
            return _gone()
        if result is Answer.DECLINED:
            return _page(
                "done.html",
                title="Takk for svaret",
                paragraphs=[
                    "Vi har registrert svaret ditt. Du står i køen igjen med samme ventetid, og vi "
                    "sier fra når en ny gruppe kan starte."
                ],
                form_url=None,
            )
        return _page(
            "done.html",
            title="Velkommen i gruppen!",
            paragraphs=await _welcome(db, link.object_id),
            form_url=None,
        )
    return await _report(db, lc, link, form, request, now=now)


async def _welcome(db: AsyncSession, group_id: uuid.UUID) -> list[str]:
    from groups.members import first_meeting

    meeting = await first_meeting(db, group_id)
    text = ["Takk! Vi har registrert at du blir med."]
    if meeting is not None:
        text.append(f"Første møte er {_when(meeting.starts_at)}, {meeting.place}.")
    else:
        text.append("Du får vite tid og sted for første møte så snart det er bestemt.")
    return text


async def _report(
    db: AsyncSession,
    lc: Lifecycle,
    link: Link,
    form: Any,
    request: Request[Any, Any, Any],
    *,
    now: datetime,
) -> Response[str]:
    title, intro, _ = _REPORTS[link.purpose]
    goes_on = str(form.get("goes_on", "yes")) != "no"
    if link.purpose is Purpose.CHECKIN:
        raw = str(form.get("attended", "")).strip()
        if not raw.isdigit() or int(raw) > 99:
            return _page(
                "report.html",
                400,
                title=title,
                intro=intro,
                ask_attended=True,
                csrf=_csrf(request),
                errors=["Skriv antallet som et tall (0–99)."],
            )
        ok = await record_checkin(
            db,
            lc,
            link.object_id,
            link.subject_id,
            attended=int(raw),
            goes_on=goes_on,
            follow_up=str(form.get("follow_up", "")),
            now=now,
        )
    else:
        kind = "followup" if link.purpose is Purpose.FOLLOWUP else "review"
        ok = await record_followup(
            db, link.object_id, link.subject_id, kind=kind, goes_on=goes_on, now=now, lc=lc
        )
    if not ok:
        return _gone()
    return _page(
        "done.html", title="Takk!", paragraphs=["Svaret ditt er registrert."], form_url=None
    )


#: Add to the app: ``create_app(services, route_handlers=ROUTES)``.
ROUTES = [show_link, use_link]
