"""Signing in by e-mail link, signing out, and the account page.

``/ansatt/logg-inn`` takes a work address and always answers the same page, whether or not the
address belongs to a staff user, is disabled, or has asked too often (then simply no mail):
the page must not tell a stranger who works here. ``/ansatt/lenke/{token}`` shows one button
(mail scanners open links; a GET never uses one up); the POST uses the link once, opens a
session with method ``email`` (a new id; the cookie the browser came with is revoked: session
fixation) and goes on to ``neste`` — a console path only, never another site.

The sign-in mail is queued in the request's transaction; right after the response (so after
the commit) one delivery pass runs, when the app offers ``deliver_soon`` in its state, so the
link arrives in seconds instead of at the next 20-second delivery run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.crypto import ContactCipher
from intake.web.i18n import Translator
from intake.web.views import date_and_time
from staff import audit, links, sessions
from staff.access import Viewer
from staff.config import StaffConfig
from staff.passkeys import account_context, session_cookie
from staff.render import language, render
from staff.tables import staff_session
from staff.users import UserError, get_user, normalise_email, user_by_email


def _confirmation(t: Translator, key: str | None) -> str:
    """The short message after a redirect (``?ok=``)."""
    return {
        "signed_out": t.gettext("You are signed out."),
        "signed_out_everywhere": t.gettext("You are signed out on every device."),
    }.get(key or "", "")


def _cleared_cookie(config: StaffConfig) -> Cookie:
    return Cookie(
        key=sessions.COOKIE,
        value="",
        path="/",
        max_age=0,
        httponly=True,
        secure=config.secure_cookies,
        samesite="lax",
    )


def _audit_scope(viewer: Viewer) -> dict[str, Any]:
    """Sign-in events belong to the user's organisation or region: their coordinator reads
    them in the trail."""
    return {"organisation_id": viewer.organisation_id, "region_slug": viewer.region_slug}


@get("/logg-inn")
async def sign_in_page(
    request: Request[Any, Any, Any], maybe_viewer: Viewer | None, staff_config: StaffConfig
) -> Response[Any]:
    neste = links.safe_next(request.query_params.get("neste"))
    if maybe_viewer is not None and not request.query_params.get("ok"):
        return Redirect(neste, status_code=303)
    t = Translator(language(request))
    return render(
        request,
        "sign_in.html",
        viewer=None,
        neste=neste,
        email="",
        errors={},
        ok=_confirmation(t, request.query_params.get("ok")),
        providers=staff_config.oidc_providers,
    )


@post("/logg-inn", status_code=200)
async def ask_for_link(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    cipher: ContactCipher,
    staff_config: StaffConfig,
) -> Response[Any]:
    form = await request.form()
    typed = str(form.get("email", "")).strip()
    neste = links.safe_next(str(form.get("neste", "")))
    lang = language(request)
    t = Translator(lang)
    try:
        address = normalise_email(typed)
    except UserError:
        return render(
            request,
            "sign_in.html",
            viewer=None,
            status=400,
            neste=neste,
            email=typed,
            errors={"email": t.gettext("Write your work e-mail address, like name@example.no.")},
            ok="",
            providers=staff_config.oidc_providers,
        )
    user = await user_by_email(db, address)
    if user is not None and user.disabled_at is None:
        recent = await links.recent_requests(db, user.id, now=now, within=staff_config.link_ttl)
        if recent < staff_config.link_requests:
            token = await links.issue(
                db, user.id, purpose="sign_in", now=now, ttl=staff_config.link_ttl
            )
            await links.mail_link(
                db,
                cipher,
                user_id=user.id,
                email=user.email,
                template="staff_sign_in",
                lang=lang,
                context={
                    "accept_url": links.link_url(
                        staff_config.base_url, token, lang=lang, next_path=neste
                    ),
                    "respond_by": now + staff_config.link_ttl,
                },
                now=now,
            )
    response = render(
        request,
        "sign_in_sent.html",
        viewer=None,
        email=address,
        minutes=int(staff_config.link_ttl.total_seconds() // 60),
    )
    # Always, mail or not: the answer's timing must not tell either.
    response.background = links.deliver_soon(request)
    return response


def _gone_page(request: Request[Any, Any, Any], *, status: int) -> Response[Any]:
    return render(request, "sign_in_link_gone.html", viewer=None, status=status)


@get("/lenke/{token:str}")
async def link_page(
    request: Request[Any, Any, Any], token: str, db: AsyncSession, now: datetime
) -> Response[Any]:
    holder = await links.peek(db, token, now=now)
    if holder is None:
        return _gone_page(request, status=404)
    if holder == "gone":
        return _gone_page(request, status=410)
    return render(
        request,
        "sign_in_link.html",
        viewer=None,
        name=holder.name,
        invite=holder.purpose == "invite",
        token=token,
        neste=links.safe_next(request.query_params.get("neste")),
    )


@post("/lenke/{token:str}", status_code=303)
async def use_link(
    request: Request[Any, Any, Any],
    token: str,
    db: AsyncSession,
    now: datetime,
    staff_config: StaffConfig,
) -> Response[Any]:
    form = await request.form()
    holder = await links.consume(db, token, now=now)
    if holder is None:
        known = await links.peek(db, token, now=now)
        return _gone_page(request, status=404 if known is None else 410)
    opened = await sessions.open_session(
        db,
        holder.user_id,
        method="email",
        now=now,
        config=staff_config,
        replacing=request.cookies.get(sessions.COOKIE),
    )
    viewer = await sessions.viewer_for(db, opened.cookie_value, now=now, config=staff_config)
    assert viewer is not None
    action = "user.accept" if holder.purpose == "invite" else "sign_in"
    await audit.record(
        db,
        viewer,
        action,
        now=now,
        request=request,
        record_kind="staff_user",
        record_id=holder.user_id,
        detail={"method": "email"},
        **_audit_scope(viewer),
    )
    neste = links.safe_next(str(form.get("neste", "")))
    # An invitation's first sign-in goes on to add a passkey, then to the console.
    invited = holder.purpose == "invite"
    target = "/ansatt/to-faktor?neste=" + quote(neste, safe="/") if invited else neste
    return Redirect(target, status_code=303, cookies=[session_cookie(opened, staff_config)])


@post("/logg-ut", status_code=303)
async def sign_out(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    maybe_viewer: Viewer | None,
    staff_config: StaffConfig,
) -> Response[Any]:
    cookie = request.cookies.get(sessions.COOKIE)
    if maybe_viewer is not None and cookie:
        await sessions.revoke(db, cookie, now=now)
        await audit.record(
            db,
            maybe_viewer,
            "sign_out",
            now=now,
            request=request,
            record_kind="staff_user",
            record_id=maybe_viewer.user_id,
            **_audit_scope(maybe_viewer),
        )
    return Redirect(
        "/ansatt/logg-inn?ok=signed_out",
        status_code=303,
        cookies=[_cleared_cookie(staff_config)],
    )


@post("/konto/logg-ut-overalt", status_code=303)
async def sign_out_everywhere(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    viewer: Viewer,
    staff_config: StaffConfig,
) -> Response[Any]:
    assert viewer.user_id is not None
    ended = await sessions.revoke_all(db, viewer.user_id, now=now)
    await audit.record(
        db,
        viewer,
        "sign_out_everywhere",
        now=now,
        request=request,
        record_kind="staff_user",
        record_id=viewer.user_id,
        detail={"sessions": ended},
        **_audit_scope(viewer),
    )
    return Redirect(
        "/ansatt/logg-inn?ok=signed_out_everywhere",
        status_code=303,
        cookies=[_cleared_cookie(staff_config)],
    )


@get("/konto")
async def account_page(
    request: Request[Any, Any, Any], db: AsyncSession, now: datetime, viewer: Viewer
) -> Response[Any]:
    assert viewer.user_id is not None
    user = await get_user(db, viewer.user_id)
    assert user is not None
    open_sessions = await db.scalar(
        select(staff_session.c.id_hash)
        .where(
            staff_session.c.user_id == viewer.user_id,
            staff_session.c.revoked_at.is_(None),
            staff_session.c.expires_at > now,
            staff_session.c.id_hash != viewer.session_hash,
        )
        .limit(1)
    )
    return render(
        request,
        "account.html",
        viewer=viewer,
        user=user,
        other_sessions=open_sessions is not None,
        last_sign_in=date_and_time(user.last_sign_in_at, language(request))
        if user.last_sign_in_at
        else "",
        ok=request.query_params.get("ok", ""),
        **await account_context(db, viewer),
    )


ROUTES: list[Any] = [
    sign_in_page,
    ask_for_link,
    link_page,
    use_link,
    sign_out,
    sign_out_everywhere,
    account_page,
]
