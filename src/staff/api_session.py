"""The staff JSON API (``/api/v1/staff/*``) for a signed-in console session.

Intake's staff API was made for API keys: one organisation per key. A console session gets the
same shape of principal, scoped by the viewer's role: staff act for their organisation; a
coordinator or an administrator for one of theirs at a time, named by ``?organisation=<id>``
(needed when they have more than one). An organisation outside the viewer's scope answers 404,
like an unknown one. The API shows people's records, so the session needs the second factor.

Cookies ride along with any request a browser makes, so a session may not write from another
site: the cookie is ``SameSite=Lax`` (no cross-site POST carries it), the API only takes JSON
(a cross-site form cannot send it without a CORS pre-flight nobody answers), and an ``Origin``
that is not the service's own is refused here as well.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from litestar import Request
from litestar.exceptions import PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from intake.errors import FieldProblem, InvalidInterest, NotFound
from intake.registry import ApiPrincipal
from staff import audit, sessions
from staff.access import Viewer
from staff.config import StaffConfig

_SAFE = ("GET", "HEAD", "OPTIONS")
#: What a signed-in person does through the API goes in the audit trail as it would in the
#: console: (method, path pattern) → (action, record kind). Lists are not views of a record.
_AUDITED = (
    ("GET", re.compile(r"^/api/v1/staff/interests/([0-9a-f-]{36})$"), "interest.view", "interest"),
    ("POST", re.compile(r"^/api/v1/staff/interests/?$"), "interest.register", "interest"),
    ("GET", re.compile(r"^/api/v1/staff/groups/([0-9a-f-]{36})(/\w+)?$"), "group.view", "group"),
    ("POST", re.compile(r"^/api/v1/staff/groups/([0-9a-f-]{36})/close$"), "group.close", "group"),
)


class SessionPrincipals:
    """Implements :class:`intake.api.ConsoleSessions` (plugged in by the composition root)."""

    def __init__(self, config: StaffConfig) -> None:
        self.config = config

    async def __call__(
        self, request: Request[Any, Any, Any], db: AsyncSession, now: datetime
    ) -> ApiPrincipal | None:
        cookie = request.cookies.get(sessions.COOKIE)
        if not cookie:
            return None
        viewer = await sessions.viewer_for(db, cookie, now=now, config=self.config)
        if viewer is None or viewer.user_id is None:
            return None
        origin = request.headers.get("origin")
        if request.method not in _SAFE and origin and origin != self.config.origin:
            raise PermissionDeniedException("a console session may not write from another site")
        if not viewer.two_factor:
            raise PermissionDeniedException(
                "the staff API shows people's records: sign in with a passkey or your"
                " organisation's identity provider"
            )
        allowed = await viewer.organisations(db)
        principal = ApiPrincipal(viewer.user_id, _chosen(request, allowed), "staff")
        # Written in the request's transaction: a refused request (404) leaves no row.
        await _audit(request, db, now, viewer, principal.organisation_id)
        return principal


async def _audit(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    viewer: Viewer,
    organisation_id: uuid.UUID,
) -> None:
    for method, pattern, action, kind in _AUDITED:
        found = pattern.match(request.url.path) if request.method == method else None
        if found:
            record = found.group(1) if pattern.groups else None
            await audit.record(
                db, viewer, action, now=now, record_kind=kind, record_id=record,
                organisation_id=organisation_id, request=request, detail={"via": "api"},
            )  # fmt: skip
            return


def _chosen(request: Request[Any, Any, Any], allowed: list[uuid.UUID]) -> uuid.UUID:
    """The organisation this request acts for: ``?organisation=``, else the only one."""
    given = request.query_params.get("organisation")
    if given:
        try:
            wanted = uuid.UUID(given)
        except ValueError:
            raise NotFound("no such organisation") from None
        if wanted not in allowed:
            raise NotFound("no such organisation")
        return wanted
    if len(allowed) == 1:
        return allowed[0]
    if not allowed:
        raise PermissionDeniedException("your role has no organisation to act for")
    raise InvalidInterest(
        [
            FieldProblem(
                "organisation",
                f"you may act for {len(allowed)} organisations: name one with ?organisation=<id>",
                "required",
            )
        ]
    )
