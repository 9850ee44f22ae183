"""Who may open a console page: the ``viewer`` dependencies and what happens when one fails.

``viewer`` is any signed-in staff member; ``health_viewer`` additionally needs the second
factor (passkey or the organisation's identity provider) that access to health data requires.
A browser without a session is sent to the sign-in page and comes back where it was going; a
session without the second factor is sent to the page that adds one. API clients get RFC 9457
problems instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import PermissionDeniedException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from staff import sessions
from staff.access import Role, Viewer
from staff.config import StaffConfig


class SignInRequired(Exception):
    """No valid session: sign in first."""


class SecondFactorRequired(Exception):
    """Signed in by e-mail link only, and the page shows health data."""


def _next(request: Request[Any, Any, Any]) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return quote(target, safe="/?=&")


def sign_in_redirect(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    return Redirect(f"/ansatt/logg-inn?neste={_next(request)}", status_code=303)


def second_factor_redirect(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    return Redirect(f"/ansatt/to-faktor?neste={_next(request)}", status_code=303)


EXCEPTION_HANDLERS: dict[type[Exception], Callable[..., Response[Any]]] = {
    SignInRequired: sign_in_redirect,
    SecondFactorRequired: second_factor_redirect,
}


def viewer_providers(
    config: StaffConfig,
) -> dict[str, Callable[..., Awaitable[Viewer | None]]]:
    """The dependencies ``viewer``, ``health_viewer`` and ``maybe_viewer`` for the console's
    router (``config`` carries the timeouts)."""

    async def maybe_viewer(
        request: Request[Any, Any, Any], db: AsyncSession, now: datetime
    ) -> Viewer | None:
        cookie = request.cookies.get(sessions.COOKIE)
        if not cookie:
            return None
        return await sessions.viewer_for(db, cookie, now=now, config=config)

    async def viewer(request: Request[Any, Any, Any], db: AsyncSession, now: datetime) -> Viewer:
        found = await maybe_viewer(request, db, now)
        if found is None:
            raise SignInRequired
        return found

    async def health_viewer(
        request: Request[Any, Any, Any], db: AsyncSession, now: datetime
    ) -> Viewer:
        found = await viewer(request, db, now)
        if not found.two_factor:
            raise SecondFactorRequired
        return found

    return {"maybe_viewer": maybe_viewer, "viewer": viewer, "health_viewer": health_viewer}


def require_role(viewer: Viewer, *roles: Role) -> None:
    """403 (a page in the person's language) unless the viewer has one of ``roles``."""
    if viewer.role not in roles:
        raise PermissionDeniedException("your role may not do this")
