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
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from intake import referrals
from intake.errors import IntakeError, InvalidInterest
from intake.web import assets
from intake.web.pages import PAGE_HANDLERS, error_page, page_language, render
from intake.web.privacy import PrivacyTerms

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


@get("/henvisning/{code:str}/plakat", name="poster")
async def poster(
    request: Request[Any, Any, Any], code: str, db: AsyncSession, now: datetime, base_url: str
) -> Template:
    """A printable poster for a course's referral link, with a QR code to the sign-up form."""
    code = code.strip().upper()[:20]
    await referrals.resolve_link(db, code, today=now.date())  # 404 page if unknown or expired
    return render(
        request, "poster.html", lang=page_language(request), code=code,
        url=_signup_url(base_url, code),
    )  # fmt: skip


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
        route_handlers=[*PAGE_HANDLERS, poster, poster_qr, static_file],
        # Same keys as the API's handlers: the most specific class wins across layers.
        exception_handlers={
            IntakeError: _html_error,
            HTTPException: _html_error,
            Exception: _html_error,
        },
        dependencies={"privacy_terms": Provide(lambda: terms, sync_to_thread=False)},
        include_in_schema=False,
    )
