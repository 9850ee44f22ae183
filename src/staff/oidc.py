"""Sign-in through the organisation's identity provider (OpenID Connect: Entra ID, ID-porten,
Google Workspace), which also counts as the second factor.

The authorization code flow with PKCE, ``state`` and ``nonce``, using authlib's
framework-independent parts (Litestar has no authlib integration): ``/ansatt/oidc/<slug>``
sends the browser to the provider with the three values kept in a signed, short-lived cookie
(:mod:`staff.flow_cookie`); ``/ansatt/oidc/<slug>/callback`` checks ``state``, exchanges the
code (with the PKCE verifier and the client secret), and validates the ID token: signature by
the provider's published keys, issuer, audience, expiry and nonce.

Who it is: the staff user already linked to (issuer, subject); the first time, the active staff
user whose address equals the token's ``email`` claim (unless the provider says that address is
unverified), and the link is stored so a later change of address at the provider changes
nothing. Nobody found → a page saying so; errors from the provider → a page, never a 500.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError  # type: ignore[import-untyped]
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]
from authlib.oidc.core import CodeIDToken  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from litestar import Request, Response, get
from litestar.response import Redirect
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from groups import Lifecycle
from staff import audit, flow_cookie, sessions
from staff.access import Viewer
from staff.config import OidcProvider, StaffConfig
from staff.links import safe_next
from staff.passkeys import session_cookie
from staff.render import render
from staff.tables import staff_user

log = logging.getLogger("samhjelp.staff.oidc")

#: How long a round trip through the provider may take (it may ask for a password and an MFA).
FLOW_TTL = timedelta(minutes=10)
#: Provider metadata and keys are re-read this often (keys rotate; a new ``kid`` re-reads now).
METADATA_TTL_SECONDS = 3600
SCOPE = "openid email profile"
#: Clock skew allowed between us and the provider when checking ``exp`` and ``iat``.
LEEWAY_SECONDS = 120


class ProviderUnavailable(Exception):
    """Discovery, keys or the token endpoint could not be reached or answered nonsense."""


@dataclass
class _Cached:
    fetched: float
    metadata: dict[str, Any]
    jwks: dict[str, Any] | None = None


_cache: dict[str, _Cached] = {}


async def _get_json(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url)
        response.raise_for_status()
        body = response.json()
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    return body


async def metadata(provider: OidcProvider, *, fresh_keys: bool = False) -> _Cached:
    """The provider's discovery document and keys, cached per process."""
    cached = _cache.get(provider.discovery_url)
    try:
        if cached is None or time.monotonic() - cached.fetched > METADATA_TTL_SECONDS:
            document = await _get_json(provider.discovery_url)
            # OpenID Discovery: the issuer must be the discovery URL's own prefix, so a
            # document served elsewhere cannot name another issuer (nor Entra's templated one).
            issuer = str(document["issuer"]).rstrip("/")
            if not provider.discovery_url.startswith(issuer + "/.well-known/"):
                raise ValueError("issuer does not match the discovery URL")
            cached = _Cached(time.monotonic(), document)
            _cache[provider.discovery_url] = cached
        if cached.jwks is None or fresh_keys:
            cached.jwks = await _get_json(cached.metadata["jwks_uri"])
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise ProviderUnavailable(f"{provider.slug}: {type(exc).__name__}") from exc
    return cached


def redirect_uri(config: StaffConfig, provider: OidcProvider) -> str:
    """What to register at the provider as the redirect (reply) URI."""
    return f"{config.origin}/ansatt/oidc/{provider.slug}/callback"


def _client(config: StaffConfig, provider: OidcProvider) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        scope=SCOPE,
        redirect_uri=redirect_uri(config, provider),
        code_challenge_method="S256",
        timeout=10,
    )


def _provider(config: StaffConfig, slug: str) -> OidcProvider | None:
    return next((p for p in config.oidc_providers if p.slug == slug), None)


def _keys(found: _Cached) -> KeySet:
    return KeySet.import_key_set(found.jwks or {"keys": []})  # type: ignore[arg-type]


async def validated_claims(
    provider: OidcProvider, token: dict[str, Any], *, nonce: str, now: datetime
) -> dict[str, Any]:
    """The ID token's claims after checking signature, issuer, audience, expiry and nonce."""
    found = await metadata(provider)
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise ValueError("no id_token")
    algorithms = found.metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
    try:
        decoded = jwt.decode(id_token, _keys(found), registry=registry)
    except JoseError:
        # A key rotated since we cached them: read the keys once more.
        found = await metadata(provider, fresh_keys=True)
        decoded = jwt.decode(id_token, _keys(found), registry=registry)
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {
            "iss": {"essential": True, "value": found.metadata.get("issuer")},
            "aud": {"essential": True, "value": provider.client_id},
            "nonce": {"essential": True},
        },
        {
            "nonce": nonce,
            "client_id": provider.client_id,
            "access_token": token.get("access_token"),
        },
    )
    claims.validate(now=int(now.timestamp()), leeway=LEEWAY_SECONDS)
    return dict(claims)


async def staff_user_for(
    db: AsyncSession, *, issuer: str, subject: str, claims: dict[str, Any]
) -> tuple[uuid.UUID, bool] | None:
    """(the user, whether the link was made just now), or None when no active user fits."""
    linked = await db.scalar(
        select(staff_user.c.id).where(
            staff_user.c.oidc_issuer == issuer,
            staff_user.c.oidc_subject == subject,
            staff_user.c.disabled_at.is_(None),
        )
    )
    if linked is not None:
        return linked, False
    email = claims.get("email")
    if not isinstance(email, str) or not email or claims.get("email_verified") in (False, "false"):
        return None
    # Only a user not yet linked to another identity: one staff user, one identity.
    user_id = await db.scalar(
        select(staff_user.c.id).where(
            staff_user.c.email == func.lower(email.strip()),
            staff_user.c.disabled_at.is_(None),
            staff_user.c.oidc_subject.is_(None),
        )
    )
    if user_id is None:
        return None
    await db.execute(
        update(staff_user)
        .where(staff_user.c.id == user_id)
        .values(oidc_issuer=issuer, oidc_subject=subject)
    )
    return user_id, True


def _page(
    request: Request[Any, Any, Any], config: StaffConfig, kind: str, *, status: int, name: str = ""
) -> Response[Any]:
    cleared = flow_cookie.cleared(flow_cookie.OIDC, secure=config.secure_cookies)
    return render(
        request,
        "oidc_error.html",
        viewer=None,
        status=status,
        kind=kind,
        provider_name=name,
        cookies=[cleared],
    )


@get("/oidc/{slug:str}")
async def start(
    request: Request[Any, Any, Any],
    slug: str,
    now: datetime,
    staff_config: StaffConfig,
    lifecycle: Lifecycle,
    maybe_viewer: Viewer | None,
) -> Response[Any]:
    """``?koble=1`` (from the account page): link this identity to the signed-in user instead
    of signing in — for providers that send no address (ID-porten). Only a session with the
    second factor may link, or one e-mail link would be enough to attach any identity."""
    provider = _provider(staff_config, slug)
    if provider is None:
        return _page(request, staff_config, "unknown_provider", status=404)
    linking = request.query_params.get("koble") == "1"
    if linking and (maybe_viewer is None or not maybe_viewer.two_factor):
        return Redirect("/ansatt/to-faktor?neste=/ansatt/konto", status_code=303)
    try:
        found = await metadata(provider)
        endpoint = found.metadata["authorization_endpoint"]
    except (ProviderUnavailable, KeyError):
        log.warning("identity provider %s unreachable", slug)
        return _page(request, staff_config, "unavailable", status=502, name=provider.name)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    url, _ = _client(staff_config, provider).create_authorization_url(
        endpoint, state=state, nonce=nonce, code_verifier=verifier
    )
    payload = {
        "p": slug,
        "s": state,
        "n": nonce,
        "v": verifier,
        "next": safe_next(request.query_params.get("neste")),
        "link": str(maybe_viewer.user_id) if linking and maybe_viewer else None,
    }
    value = flow_cookie.seal(lifecycle.link_secret, "oidc", payload, now=now, ttl=FLOW_TTL)
    cookie = flow_cookie.cookie(
        flow_cookie.OIDC, value, ttl=FLOW_TTL, secure=staff_config.secure_cookies
    )
    return Redirect(url, status_code=303, cookies=[cookie], headers={"Cache-Control": "no-store"})


@get("/oidc/{slug:str}/callback")
async def callback(
    request: Request[Any, Any, Any],
    slug: str,
    db: AsyncSession,
    now: datetime,
    staff_config: StaffConfig,
    lifecycle: Lifecycle,
    maybe_viewer: Viewer | None,
) -> Response[Any]:
    provider = _provider(staff_config, slug)
    if provider is None:
        return _page(request, staff_config, "unknown_provider", status=404)
    params = request.query_params
    flow = flow_cookie.unseal(
        lifecycle.link_secret, "oidc", request.cookies.get(flow_cookie.OIDC), now=now
    )
    if params.get("error"):
        kind = "denied" if params.get("error") == "access_denied" else "provider_error"
        return _page(request, staff_config, kind, status=400, name=provider.name)
    state = params.get("state") or ""
    if flow is None or flow.get("p") != slug or not hmac.compare_digest(str(flow.get("s")), state):
        return _page(request, staff_config, "expired", status=400, name=provider.name)
    try:
        client = _client(staff_config, provider)
        endpoint = (await metadata(provider)).metadata["token_endpoint"]
        async with client:
            token = await client.fetch_token(
                endpoint,
                code=params.get("code") or "",
                code_verifier=flow["v"],
                grant_type="authorization_code",
            )
        claims = await validated_claims(provider, dict(token), nonce=flow["n"], now=now)
    except ProviderUnavailable:
        return _page(request, staff_config, "unavailable", status=502, name=provider.name)
    except (AuthlibBaseError, JoseError, httpx.HTTPError, ValueError, KeyError) as exc:
        log.warning("identity provider %s: sign-in refused (%s)", slug, type(exc).__name__)
        return _page(request, staff_config, "invalid", status=400, name=provider.name)
    if flow.get("link"):
        return await _link(
            request, db, flow["link"], claims, provider, maybe_viewer, now=now, config=staff_config
        )
    found = await staff_user_for(
        db, issuer=str(claims["iss"]), subject=str(claims["sub"]), claims=claims
    )
    if found is None:
        return _page(request, staff_config, "no_user", status=403, name=provider.name)
    user_id, linked_now = found
    opened = await sessions.open_session(
        db,
        user_id,
        method="oidc",
        now=now,
        config=staff_config,
        replacing=request.cookies.get(sessions.COOKIE),
    )
    viewer = await sessions.viewer_for(db, opened.cookie_value, now=now, config=staff_config)
    assert viewer is not None
    await audit.record(
        db,
        viewer,
        "sign_in.oidc",
        now=now,
        request=request,
        detail={"provider": slug, "linked": linked_now},
    )
    cookies = [
        session_cookie(opened, staff_config),
        flow_cookie.cleared(flow_cookie.OIDC, secure=staff_config.secure_cookies),
    ]
    return Redirect(safe_next(flow.get("next")), status_code=303, cookies=cookies)


async def _link(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    link_user: str,
    claims: dict[str, Any],
    provider: OidcProvider,
    viewer: Viewer | None,
    *,
    now: datetime,
    config: StaffConfig,
) -> Response[Any]:
    """Store (issuer, subject) on the signed-in user who asked for it; refused when the
    session changed meanwhile or the identity belongs to another staff user."""
    cleared = flow_cookie.cleared(flow_cookie.OIDC, secure=config.secure_cookies)
    if viewer is None or not viewer.two_factor or str(viewer.user_id) != link_user:
        return _page(request, config, "expired", status=400, name=provider.name)
    issuer, subject = str(claims["iss"]), str(claims["sub"])
    holder = await db.scalar(
        select(staff_user.c.id).where(
            staff_user.c.oidc_issuer == issuer, staff_user.c.oidc_subject == subject
        )
    )
    if holder is not None and holder != viewer.user_id:
        return _page(request, config, "linked_elsewhere", status=409, name=provider.name)
    await db.execute(
        update(staff_user)
        .where(staff_user.c.id == viewer.user_id)
        .values(oidc_issuer=issuer, oidc_subject=subject)
    )
    await audit.record(
        db, viewer, "oidc.link", now=now, request=request, detail={"provider": provider.slug}
    )
    return Redirect("/ansatt/konto?ok=idp-linked", status_code=303, cookies=[cleared])


ROUTES: list[Any] = [start, callback]
