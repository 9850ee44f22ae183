"""``samhjelp org``, ``facilitator``, ``apikey`` and ``group``: the coordinator's registry.

Its own module because these commands manage who takes part (organisations, facilitators, API
keys) and the groups they run, while :mod:`samhjelp.cli` keeps the process commands (serve,
db, match, outbox) and the parser.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from samhjelp.cli import _in_transaction, _settings, _with_services

if TYPE_CHECKING:
    from samhjelp.services import Services


def cmd_org(args: argparse.Namespace) -> None:
    from intake.registry import add_organisation, list_organisations

    settings = _settings()
    if args.action == "add":
        munis = [m.strip() for m in args.municipalities.split(",") if m.strip()]

        async def add(session: AsyncSession) -> Any:
            return await add_organisation(
                session,
                name=args.name,
                kind=args.kind,
                municipalities=munis,
                slug=args.slug,
                contact_email=args.email,
                coordinator_email=args.coordinator,
                controller_name=args.controller,
                privacy_contact=args.privacy_contact,
            )

        org = _in_transaction(settings, add)
        print(f"{org.slug}\t{org.id}\t{org.name}\t{len(org.municipalities)} municipalities")
    else:
        orgs = _in_transaction(settings, list_organisations)
        for o in orgs:
            print(f"{o.slug}\t{o.kind}\t{o.name}\t{','.join(o.municipalities)}")


def cmd_facilitator(args: argparse.Namespace) -> None:
    from intake.pool import facilitators
    from intake.registry import add_facilitator, organisation_by_ref

    settings = _settings()
    if args.action == "add":

        async def add(session: AsyncSession) -> Any:
            org = await organisation_by_ref(session, args.org)
            return await add_facilitator(
                session,
                organisation_id=org.id,
                name=args.name,
                email=args.email,
                phone=args.phone,
                themes=[t.strip() for t in args.themes.split(",") if t.strip()],
                languages=[x.strip() for x in args.languages.split(",") if x.strip()],
                max_concurrent_starts=args.max_starts,
                digital=args.digital,
            )

        print(_in_transaction(settings, add))
        return

    async def listing(session: AsyncSession) -> Any:
        org = await organisation_by_ref(session, args.org) if args.org else None
        found = await facilitators(session)
        return [f for f in found if org is None or f.organisation_id == org.id]

    for f in _in_transaction(settings, listing):
        print(
            f"{f.id}\t{f.name}\t{','.join(sorted(f.themes))}\t{','.join(sorted(f.languages))}"
            f"\tmax {f.max_concurrent_starts}" + ("\tdigital" if f.digital else "")
        )


def cmd_apikey(args: argparse.Namespace) -> None:
    from intake.registry import create_api_key, organisation_by_ref

    async def create(session: AsyncSession) -> str:
        org = await organisation_by_ref(session, args.org)
        return await create_api_key(
            session, organisation_id=org.id, role=args.role, label=args.label
        )

    key = _in_transaction(_settings(), create)
    print(key)
    print("Store this key now: it is shown only once.", file=sys.stderr)


def cmd_group(args: argparse.Namespace) -> None:
    import uuid

    from groups import close_group, reschedule_meeting
    from groups.service import group_events, list_groups
    from intake.registry import organisation_by_ref

    settings = _settings()
    if args.action == "list":

        async def listing(session: AsyncSession) -> Any:
            org = await organisation_by_ref(session, args.org) if args.org else None
            return await list_groups(
                session, organisation_id=org.id if org else None, status=args.status
            )

        for g in _in_transaction(settings, listing):
            what = g.theme or "på tvers"
            print(
                f"{g.id}\t{g.status}\t{what}\t{g.language}\t{g.slot}"
                f"\t{'digital' if g.digital else 'local'}\t{g.members} members"
                f"\t{g.updated_at:%Y-%m-%d %H:%M}"
            )
        return
    try:
        group_id = uuid.UUID(args.id)
    except ValueError:
        sys.exit("samhjelp: a group id is a UUID (see `samhjelp group list`)")
    if args.action == "events":

        async def events(session: AsyncSession) -> Any:
            return await group_events(session, group_id)

        for e in _in_transaction(settings, events):
            print(f"{e['at']:%Y-%m-%d %H:%M}\t{e['actor']}\t{e['what']}\t{json.dumps(e['detail'])}")
        return

    if args.action == "reschedule":
        from datetime import datetime
        from zoneinfo import ZoneInfo

        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            sys.exit("samhjelp: --at takes a date and time like 2026-12-01T18:00 (Norwegian time)")
        if at.tzinfo is None:
            at = at.replace(tzinfo=ZoneInfo("Europe/Oslo"))

        async def move(services: Services, session: AsyncSession) -> bool:
            return await reschedule_meeting(
                session, services.lifecycle, group_id, args.meeting, starts_at=at,
                place=args.place, now=services.clock(), actor="cli",
            )  # fmt: skip

        if not _with_services(settings, move):
            sys.exit("samhjelp: no planned meeting with that number, or the time has passed")
        print("rescheduled; participants are told with an updated calendar file")
        return

    async def close(services: Services, session: AsyncSession) -> bool:
        return await close_group(
            session,
            group_id,
            now=services.clock(),
            actor="cli",
            reason=args.reason,
            lc=services.lifecycle,
        )

    if not _with_services(settings, close):
        sys.exit("samhjelp: no open group with that id")
    print("closed")
