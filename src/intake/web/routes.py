"""The pages' router: referral posters, static files and HTML error pages.

Pages get their own exception handlers so a browser sees a page in its language, never the API's
problem+json. Every HTML response carries a strict Content-Security-Policy (``SECURITY_HEADERS``,
applied app-wide in ``samhjelp.web``): the pages load only their own stylesheets and one script
file, nothing inline and nothing from other hosts.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime
from typing import Any

import segno
from litestar import Request, Response, Router, get
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import referrals
from intake.errors import IntakeError, InvalidInterest
from intake.tables import organisation, referral
from intake.web import assets
from intake.web.keep_pages import KEEP_HANDLERS
from intake.web.pages import PAGE_HANDLERS, error_page, page_language, render
from intake.web.privacy import PrivacyTerms
from intake.web.status_pages import STATUS_HANDLERS
from intake.web.suggestion_pages import SUGGESTION_HANDLERS

log = logging.getLogger("samhjelp.pages")

ASSETS = assets.load()

#: 'self' only; data: images because Designsystemet draws its icons as CSS data-URI masks.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def static_url(name: str) -> str:
    """Fingerprinted URL of a static file (templates call ``static('ds.css')``)."""
    return ASSETS[name].url


@get("/static/{name:str}", name="static", include_in_schema=False)
async def static_file(request: Request[Any, Any, Any], name: str) -> Response[bytes]:
    """From memory, gzipped when the browser accepts it; fingerprinted names cache for a year."""
    asset = ASSETS.get("/static/" + name) or ASSETS.get(name)
    if asset is None:
        return Response(b"not found", status_code=404, media_type="text/plain")
    fingerprinted = ("/static/" + name) in ASSETS
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable" if fingerprinted else "no-cache",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def _signup_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/meld-interesse?ref={code}"


def _short_url(base_url: str, code: str) -> str:
    """The address printed on a poster, short enough to type on a phone: no scheme, /h/CODE."""
    host = base_url.split("://", 1)[-1].rstrip("/")
    return f"{host}/h/{code}"


async def _poster_facts(db: AsyncSession, code: str) -> dict[str, Any]:
    """Who the poster is from: the organisation that starts the groups (the link's target, else
    the course's own), the course, and whom to ask."""
    owner, target = organisation.alias("owner"), organisation.alias("target")
    row = (
        await db.execute(
            select(
                referral.c.course_kind,
                referral.c.course_name,
                func.coalesce(target.c.name, owner.c.name).label("org"),
                func.coalesce(target.c.contact_email, owner.c.contact_email).label("contact"),
            )
            .join(owner, owner.c.id == referral.c.organisation_id)
            .outerjoin(target, target.c.id == referral.c.target_organisation_id)
            .where(referral.c.code == code)
        )
    ).one()
    course = row.course_name or ("" if row.course_kind == "other" else row.course_kind)
    return {"org": row.org, "course": course, "contact": row.contact or ""}


@get("/henvisning/{code:str}/plakat", name="poster")
async def poster(
    request: Request[Any, Any, Any], code: str, db: AsyncSession, now: datetime, base_url: str
) -> Template:
    """A printable poster for a course's referral link, with a QR code to the sign-up form."""
    code = code.strip().upper()[:20]
    await referrals.resolve_link(db, code, today=now.date())  # 404 page if unknown or expired
    return render(
        request, "poster.html", lang=page_language(request), code=code,
        url=_signup_url(base_url, code), short_url=_short_url(base_url, code),
        **await _poster_facts(db, code),
    )  # fmt: skip


@get("/h/{code:str}", name="short-link", status_code=302)
async def short_link(code: str) -> Redirect:
    """The poster's short address: on to the sign-up form with the referral code (typed in
    lower case on a phone, so the code is upper-cased; an unknown code gets the form's own
    "unknown or expired link" note)."""
    code = "".join(ch for ch in code.strip().upper()[:20] if ch.isalnum())
    return Redirect(path=f"/meld-interesse?ref={code}", status_code=302)


@get("/henvisning/{code:str}/qr.svg", name="poster-qr")
async def poster_qr(code: str, db: AsyncSession, now: datetime, base_url: str) -> Response[bytes]:
    code = code.strip().upper()[:20]
    await referrals.resolve_link(db, code, today=now.date())
    out = io.BytesIO()
    segno.make(_signup_url(base_url, code), error="m").save(
        out, kind="svg", border=2, xmldecl=False, omitsize=True, dark="#000", light="#fff"
    )
    return Response(
        out.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "no-cache"}
    )


def _html_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, IntakeError):
        # On pages, the only intake error left unhandled is an unknown or expired link.
        status = 404 if isinstance(exc, InvalidInterest) else exc.status
    elif isinstance(exc, HTTPException):
        status = exc.status_code
    else:
        log.exception("page failed", exc_info=exc)
        status = 500
    return error_page(request, status)


def page_router(terms: PrivacyTerms) -> Router:
    """All page routes under one router with HTML error pages.

    The security headers are added app-wide (``samhjelp.web``), so error pages, link pages and
    anything another package renders carry them too. ``terms`` are the controller and the
    retention times the pages state, from the deployment's settings.
    """
    return Router(
        path="/",
        route_handlers=[
            *PAGE_HANDLERS,
            *STATUS_HANDLERS,
            *SUGGESTION_HANDLERS,
            *KEEP_HANDLERS,
            poster,
            poster_qr,
            short_link,
            static_file,
        ],
        # Same keys as the API's handlers: the most specific class wins across layers.
        exception_handlers={
            IntakeError: _html_error,
            HTTPException: _html_error,
            Exception: _html_error,
        },
        dependencies={"privacy_terms": Provide(lambda: terms, sync_to_thread=False)},
        include_in_schema=False,
    )
