"""Passkey pages and their JSON endpoints: the second factor, sign-in without an address, and
the list on the account page.

``/ansatt/to-faktor`` is where a session opened by e-mail link is sent before a page with health
data. Without a passkey the user adds one; with one they use it; either way the identity
providers are offered too (and are all a browser without JavaScript can use). Success opens a
*new* session with method ``passkey`` and revokes the one the browser came with (fixation).

Who may add a passkey: a session with the second factor, or — only for the very first one — a
session opened by e-mail link for a user with neither a passkey nor a linked identity provider.
Otherwise someone who got hold of one e-mail link could add their own passkey and reach health
data. For the same reason removing needs the second factor, and the last passkey of a user
without a linked identity provider is kept: removing it would reopen that first-passkey door.

The ceremony endpoints answer JSON for ``passkey.js``; the page sends the CSRF token in the
``X-CSRFToken`` header, so the app's CSRF middleware covers them like any form.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from groups import Lifecycle
from intake.web.i18n import Translator
from staff import audit, flow_cookie, sessions
from staff import passkey_ceremony as ceremony
from staff.access import Viewer
from staff.config import StaffConfig
from staff.links import safe_next
from staff.render import language, render

#: How long the browser has to answer a challenge.
CHALLENGE_TTL = timedelta(minutes=5)


def session_cookie(opened: sessions.NewSession, config: StaffConfig) -> Cookie:
    """The console's session cookie: ``HttpOnly``, ``SameSite=Lax``, ``Secure`` behind https."""
    return Cookie(
        key=sessions.COOKIE,
        value=opened.cookie_value,
        path="/",
        max_age=int(config.absolute_timeout.total_seconds()),
        httponly=True,
        secure=config.secure_cookies,
        samesite="lax",
    )


async def may_add(db: AsyncSession, viewer: Viewer) -> bool:
    """A second-factor session may always add; an e-mail-link session only the first one."""
    assert viewer.user_id is not None
    if viewer.two_factor:
        return True
    return await ceremony.count_of(db, viewer.user_id) == 0 and not (
        await ceremony.has_identity_link(db, viewer.user_id)
    )


async def account_context(
    db: AsyncSession, viewer: Viewer, config: StaffConfig | None = None
) -> dict[str, Any]:
    """What ``_passkeys.html`` needs on the account page (``/ansatt/konto``); with ``config``
    also the identity providers the user may link (for those that send no address)."""
    assert viewer.user_id is not None
    keys = await ceremony.passkeys_of(db, viewer.user_id)
    linked = await ceremony.has_identity_link(db, viewer.user_id)
    return {
        "passkeys": keys,
        "passkey_may_add": await may_add(db, viewer),
        "passkey_may_remove": viewer.two_factor and (len(keys) > 1 or linked),
        "idp_providers": config.oidc_providers if config else (),
        "idp_linked": linked,
    }


def _json(
    body: dict[str, Any] | str, status: int = 200, cookies: list[Cookie] | None = None
) -> Response[Any]:
    """JSON that is never cached (a ``str`` body is already-encoded JSON, sent as it is)."""
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
        cookies=cookies or [],
    )


def _refused(request: Request[Any, Any, Any], config: StaffConfig) -> Response[Any]:
    t = Translator(language(request))
    message = t.gettext("The passkey could not be used. Try again, or use another way to sign in.")
    cleared = flow_cookie.cleared(flow_cookie.PASSKEY, secure=config.secure_cookies)
    return _json({"error": message}, status=400, cookies=[cleared])


def _challenge_cookie(
    lifecycle: Lifecycle,
    config: StaffConfig,
    purpose: str,
    challenge: bytes,
    user: uuid.UUID | None,
    now: datetime,
) -> Cookie:
    payload = {"c": bytes_to_base64url(challenge), "u": str(user) if user else None}
    value = flow_cookie.seal(lifecycle.link_secret, purpose, payload, now=now, ttl=CHALLENGE_TTL)
    return flow_cookie.cookie(
        flow_cookie.PASSKEY, value, ttl=CHALLENGE_TTL, secure=config.secure_cookies
    )


def _challenge(
    request: Request[Any, Any, Any], lifecycle: Lifecycle, purpose: str, now: datetime
) -> tuple[bytes, uuid.UUID | None] | None:
    payload = flow_cookie.unseal(
        lifecycle.link_secret, purpose, request.cookies.get(flow_cookie.PASSKEY), now=now
    )
    if payload is None:
        return None
    return base64url_to_bytes(payload["c"]), uuid.UUID(payload["u"]) if payload.get("u") else None


async def _signed_in(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    user_id: uuid.UUID,
    *,
    action: str,
    detail: dict[str, Any],
    now: datetime,
    config: StaffConfig,
    neste: str | None,
) -> Response[Any]:
    """Open the two-factor session (a new id), audit, and tell the page where to go."""
    opened = await sessions.open_session(
        db,
        user_id,
        method="passkey",
        now=now,
        config=config,
        replacing=request.cookies.get(sessions.COOKIE),
    )
    viewer = await sessions.viewer_for(db, opened.cookie_value, now=now, config=config)
    assert viewer is not None
    await audit.record(db, viewer, action, now=now, request=request, **detail)
    cookies = [
        session_cookie(opened, config),
        flow_cookie.cleared(flow_cookie.PASSKEY, secure=config.secure_cookies),
    ]
    return _json({"next": safe_next(neste)}, cookies=cookies)


@get("/to-faktor")
async def second_factor_page(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Viewer, staff_config: StaffConfig
) -> Response[Any]:
    neste = safe_next(request.query_params.get("neste"))
    if viewer.two_factor:
        return Redirect(neste, status_code=303)
    assert viewer.user_id is not None
    first = await may_add(db, viewer)
    has_passkey = await ceremony.count_of(db, viewer.user_id) > 0
    return render(
        request,
        "second_factor.html",
        viewer=viewer,
        neste=neste,
        add_first=first,
        has_passkey=has_passkey,
        providers=staff_config.oidc_providers,
    )


@post("/passkey/ny/valg", status_code=200)
async def registration_options(
    viewer: Viewer, db: AsyncSession, now: datetime, staff_config: StaffConfig, lifecycle: Lifecycle
) -> Response[Any]:
    assert viewer.user_id is not None
    if not await may_add(db, viewer):
        return _json({"error": "second factor required"}, status=403)
    existing = await ceremony.passkeys_of(db, viewer.user_id)
    options, challenge = ceremony.registration_options(
        staff_config,
        user_id=viewer.user_id,
        email=viewer.email,
        name=viewer.name,
        existing=existing,
    )
    cookie = _challenge_cookie(lifecycle, staff_config, "register", challenge, viewer.user_id, now)
    return _json(options, cookies=[cookie])


@post("/passkey/ny", status_code=200)
async def register_passkey(
    request: Request[Any, Any, Any],
    data: dict[str, Any],
    viewer: Viewer,
    db: AsyncSession,
    now: datetime,
    staff_config: StaffConfig,
    lifecycle: Lifecycle,
) -> Response[Any]:
    assert viewer.user_id is not None
    found = _challenge(request, lifecycle, "register", now)
    if found is None or found[1] != viewer.user_id or not await may_add(db, viewer):
        return _refused(request, staff_config)
    label = data.get("label") if isinstance(data.get("label"), str) else None
    try:
        credential_id = await ceremony.register(
            db,
            staff_config,
            user_id=viewer.user_id,
            credential=data.get("credential") or {},
            challenge=found[0],
            label=label,
            now=now,
        )
    except ceremony.PasskeyRefused:
        return _refused(request, staff_config)
    detail = {
        "record_kind": ceremony.CHALLENGE_KIND,
        "record_id": ceremony.challenge_digest(found[0]),
        "detail": {"credential": bytes_to_base64url(credential_id)[:12]},
    }
    return await _signed_in(
        request,
        db,
        viewer.user_id,
        action="passkey.add",
        detail=detail,
        now=now,
        config=staff_config,
        neste=data.get("next") if isinstance(data.get("next"), str) else None,
    )


@post("/passkey/bruk/valg", status_code=200)
async def authentication_options(
    maybe_viewer: Viewer | None,
    db: AsyncSession,
    now: datetime,
    staff_config: StaffConfig,
    lifecycle: Lifecycle,
) -> Response[Any]:
    """With a session: its own passkeys only (the second factor for that user). Without: any
    passkey the browser holds for us (sign-in without an address)."""
    user = maybe_viewer.user_id if maybe_viewer else None
    allowed = await ceremony.passkeys_of(db, user) if user else None
    options, challenge = ceremony.authentication_options(staff_config, allowed=allowed)
    cookie = _challenge_cookie(lifecycle, staff_config, "authenticate", challenge, user, now)
    return _json(options, cookies=[cookie])


@post("/passkey/bruk", status_code=200)
async def use_passkey(
    request: Request[Any, Any, Any],
    data: dict[str, Any],
    db: AsyncSession,
    now: datetime,
    staff_config: StaffConfig,
    lifecycle: Lifecycle,
) -> Response[Any]:
    found = _challenge(request, lifecycle, "authenticate", now)
    if found is None:
        return _refused(request, staff_config)
    challenge, only_user = found
    try:
        user_id, credential_id = await ceremony.authenticate(
            db,
            staff_config,
            credential=data.get("credential") or {},
            challenge=challenge,
            only_user=only_user,
            now=now,
        )
    except ceremony.PasskeyRefused:
        return _refused(request, staff_config)
    detail = {
        "record_kind": ceremony.CHALLENGE_KIND,
        "record_id": ceremony.challenge_digest(challenge),
        "detail": {"credential": bytes_to_base64url(credential_id)[:12]},
    }
    return await _signed_in(
        request,
        db,
        user_id,
        action="sign_in.passkey",
        detail=detail,
        now=now,
        config=staff_config,
        neste=data.get("next") if isinstance(data.get("next"), str) else None,
    )


@post("/passkey/fjern", status_code=303)
async def remove_passkey(
    request: Request[Any, Any, Any],
    health_viewer: Viewer,
    db: AsyncSession,
    now: datetime,
) -> Redirect:
    """Remove one of one's own passkeys (needs the second factor; see the module's rules)."""
    viewer = health_viewer
    assert viewer.user_id is not None
    context = await account_context(db, viewer)
    try:
        credential_id = base64url_to_bytes(str((await request.form()).get("passkey", "")))
    except ValueError:
        credential_id = b""
    if not context["passkey_may_remove"]:
        return Redirect("/ansatt/konto?ok=passkey-last", status_code=303)
    if not credential_id or not await ceremony.remove(db, viewer.user_id, credential_id):
        return Redirect("/ansatt/konto?ok=passkey-unknown", status_code=303)
    await audit.record(
        db,
        viewer,
        "passkey.remove",
        now=now,
        request=request,
        detail={"credential": bytes_to_base64url(credential_id)[:12]},
    )
    return Redirect("/ansatt/konto?ok=passkey-removed", status_code=303)


ROUTES: list[Any] = [
    second_factor_page,
    registration_options,
    register_passkey,
    authentication_options,
    use_passkey,
    remove_passkey,
]
