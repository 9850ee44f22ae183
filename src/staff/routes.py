"""The console's router: every page under ``/ansatt``, with the viewer dependencies and the
redirects to sign-in and to the second factor. Listed here so reading one file tells what the
console serves."""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide

from staff import (
    audit_pages,
    facilitator_pages,
    group_pages,
    oidc,
    organisation_pages,
    passkeys,
    person,
    phone,
    referral_pages,
    region_pages,
    signin,
    today,
    users_pages,
    waiting,
)
from staff.config import StaffConfig
from staff.guard import EXCEPTION_HANDLERS, viewer_providers


def console_router(config: StaffConfig) -> Router:
    def provide_config() -> StaffConfig:
        return config

    dependencies = {name: Provide(fn) for name, fn in viewer_providers(config).items()}
    dependencies["staff_config"] = Provide(provide_config, sync_to_thread=False)
    return Router(
        path="/ansatt",
        route_handlers=[
            *signin.ROUTES,
            *passkeys.ROUTES,
            *oidc.ROUTES,
            *today.ROUTES,
            *waiting.ROUTES,
            *person.ROUTES,
            *phone.ROUTES,
            *group_pages.ROUTES,
            *facilitator_pages.ROUTES,
            *organisation_pages.ROUTES,
            *referral_pages.ROUTES,
            *region_pages.ROUTES,
            *users_pages.ROUTES,
            *audit_pages.ROUTES,
        ],
        dependencies=dependencies,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        include_in_schema=False,
    )
