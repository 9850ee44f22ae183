"""``samhjelp user add|list|disable``: staff users of the console from the command line.

The first administrator can only come from here (nobody can invite before someone exists).
Nothing secret is printed: with ``--send-invite`` the one-time link goes by e-mail through the
outbox (the running server's delivery job sends it), never to the terminal or a log.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from samhjelp.cli import _settings, _with_services

if TYPE_CHECKING:
    from samhjelp.services import Services


def add_user_commands(sub: Any) -> None:
    """The ``user`` command and its sub-commands, on the main parser's ``sub``."""
    user = sub.add_parser("user", help="staff users of the console (/ansatt)")
    user_sub = user.add_subparsers(dest="action", required=True)
    add = user_sub.add_parser("add", help="add a user (the first administrator, for one)")
    add.add_argument("--name", required=True)
    add.add_argument("--email", required=True, help="work e-mail: how they sign in")
    add.add_argument("--role", required=True, choices=["administrator", "coordinator", "staff"])
    scope = add.add_mutually_exclusive_group()
    scope.add_argument("--organisation", help="organisation slug (staff)")
    scope.add_argument("--region", help="region slug (coordinator)")
    add.add_argument(
        "--send-invite", action="store_true", help="e-mail them a one-time sign-in link (7 days)"
    )
    add.add_argument("--lang", default="nb", choices=["nb", "nn", "en"], help="of the invitation")
    user_sub.add_parser("list", help="every user, with role, scope and status")
    disable = user_sub.add_parser("disable", help="disable a user and end their sessions")
    disable.add_argument("email")
    user.set_defaults(func=cmd_user)


def _operator() -> Any:
    """Who the audit trail names for a change made on the server's command line."""
    from staff.access import Role, Viewer

    return Viewer(
        user_id=None,
        name="command line (samhjelp user)",
        email="",
        role=Role.ADMINISTRATOR,
        organisation_id=None,
        region_slug=None,
        two_factor=True,
    )


def cmd_user(args: argparse.Namespace) -> None:
    from staff import audit
    from staff.access import Role
    from staff.users import (
        UserError,
        add_user,
        disable_user,
        invite,
        list_users,
        organisation_by_slug,
        user_by_email,
    )

    settings = _settings()

    async def add(services: Services, session: AsyncSession) -> str:
        role = Role(args.role)
        org_id = None
        org_region = None
        if role is Role.STAFF:
            if not args.organisation:
                sys.exit("samhjelp: a staff user needs --organisation SLUG")
            org = await organisation_by_slug(session, args.organisation)
            if org is None:
                sys.exit(f"samhjelp: no organisation {args.organisation!r}")
            org_id, _, org_region = org
        elif role is Role.COORDINATOR and not args.region:
            sys.exit("samhjelp: a coordinator needs --region SLUG")
        elif role is Role.ADMINISTRATOR and (args.organisation or args.region):
            sys.exit("samhjelp: an administrator is national: no --organisation or --region")
        now = services.clock()
        try:
            user_id = await add_user(
                session,
                name=args.name,
                email=args.email,
                role=role,
                organisation_id=org_id,
                region_slug=args.region,
                now=now,
            )
        except UserError as exc:
            sys.exit(f"samhjelp: {exc.field}: {exc}")
        await audit.record(
            session,
            _operator(),
            "user.add",
            now=now,
            record_kind="staff_user",
            record_id=user_id,
            organisation_id=org_id,
            region_slug=args.region or org_region,
            detail={"role": role.value, "invited": bool(args.send_invite)},
        )
        if args.send_invite:
            await invite(
                session,
                services.cipher,
                user_id,
                base_url=services.settings.public_base_url,
                lang=args.lang,
                now=now,
            )
        return str(user_id)

    async def listing(services: Services, session: AsyncSession) -> Any:
        users, _ = await list_users(session, limit=100_000)
        return users

    async def disable(services: Services, session: AsyncSession) -> bool:
        user = await user_by_email(session, args.email)
        if user is None:
            sys.exit(f"samhjelp: no user {args.email!r}")
        changed = await disable_user(session, user.id, now=services.clock())
        if changed:
            await audit.record(
                session,
                _operator(),
                "user.disable",
                now=services.clock(),
                record_kind="staff_user",
                record_id=user.id,
                organisation_id=user.organisation_id,
                region_slug=user.scope_region,
            )
        return changed

    if args.action == "add":
        user_id = _with_services(settings, add)
        sent = " (invitation queued)" if args.send_invite else ""
        print(f"added {args.email.strip().lower()}\t{args.role}\t{user_id}{sent}")
        if not args.send_invite:
            print("they sign in at /ansatt/logg-inn with this address (a link by e-mail)")
    elif args.action == "list":
        print("email\tname\trole\tscope\tlast sign-in\tstatus")
        for u in _with_services(settings, listing):
            last = f"{u.last_sign_in_at:%Y-%m-%d %H:%M}" if u.last_sign_in_at else "-"
            status = "disabled" if u.disabled_at else "active"
            print(f"{u.email}\t{u.name}\t{u.role.value}\t{u.scope_name or '-'}\t{last}\t{status}")
    else:
        changed = _with_services(settings, disable)
        print(
            f"disabled {args.email} and ended their sessions"
            if changed
            else f"{args.email} was already disabled"
        )
