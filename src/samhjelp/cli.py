"""The ``samhjelp`` command: serve, db, org, apikey (later slices add match and outbox)."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from intake.errors import IntakeError
from intake.reference import THEMES
from samhjelp import logs
from samhjelp.settings import Settings

if TYPE_CHECKING:
    from samhjelp.services import Services

OSLO = ZoneInfo("Europe/Oslo")


def _invalid(exc: ValidationError | ValueError) -> NoReturn:
    if isinstance(exc, ValidationError):
        lines = [
            f"  {'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        ]
    else:
        lines = [f"  {exc}"]
    sys.exit("samhjelp: invalid settings:\n" + "\n".join(lines))


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        _invalid(exc)


def _check_serving(settings: Settings) -> None:
    """Settings a serving process needs beyond the root's own, checked before the database
    is touched so a misconfigured replica fails at once with the reason."""
    from notify.settings import check_production
    from samhjelp.bootstrap import notify_settings

    try:
        notify = notify_settings(settings)
        if settings.environment == "production":
            check_production(notify)
    except (ValidationError, ValueError) as exc:
        _invalid(exc)


def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """Run ``work`` in one transaction on the configured (or embedded) database."""
    from samhjelp.bootstrap import resolve_database_url
    from samhjelp.database import make_engine, make_sessionmaker

    async def run() -> Any:
        engine = make_engine(resolve_database_url(settings), pool_size=1)
        try:
            async with make_sessionmaker(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except IntakeError as exc:
        sys.exit(f"samhjelp: {exc}")


def _with_services(
    settings: Settings, work: Callable[[Services, AsyncSession], Awaitable[Any]]
) -> Any:
    """Run ``work`` in one transaction with the process's services, built by the composition
    root exactly as the server builds them (so the life cycle has the configured windows)."""
    from samhjelp.bootstrap import build_services, resolve_database_url

    async def run() -> Any:
        services = build_services(settings, resolve_database_url(settings), pool_size=1)
        try:
            async with services.sessionmaker.begin() as session:
                return await work(services, session)
        finally:
            await services.engine.dispose()

    try:
        return asyncio.run(run())
    except IntakeError as exc:
        sys.exit(f"samhjelp: {exc}")


def cmd_serve(args: argparse.Namespace) -> None:
    import os

    import uvicorn

    from samhjelp.bootstrap import prepare_database
    from samhjelp.database import redact

    settings = _settings()
    _check_serving(settings)
    host, port = args.host or settings.host, args.port or settings.port
    url = prepare_database(settings, demo=args.demo)
    print(f"samhjelp: database {redact(url)}", file=sys.stderr)
    print(f"samhjelp: listening on http://{host}:{port}  (API docs: /schema)", file=sys.stderr)
    if args.workers > 1:
        # Worker processes build their own app from the environment; the embedded database
        # (if any) keeps running in this parent process.
        os.environ["DATABASE_URL"] = url
        uvicorn.run(
            "samhjelp.asgi:create_from_environment", factory=True, workers=args.workers,
            host=host, port=port, log_config=None, access_log=False,
        )  # fmt: skip
        return
    from samhjelp.asgi import create_from_environment

    uvicorn.run(
        create_from_environment(url), host=host, port=port, log_config=None, access_log=False
    )


def cmd_db(args: argparse.Namespace) -> None:
    from samhjelp.bootstrap import resolve_database_url, seed
    from samhjelp.database import redact, upgrade

    settings = _settings()
    url = resolve_database_url(settings)
    if args.action == "upgrade":
        upgrade(url)
        print(f"migrated {redact(url)} to head")
    else:
        counts = asyncio.run(seed(url, demo=args.demo))
        print(json.dumps(counts))


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


def cmd_match(args: argparse.Namespace) -> None:
    from matching.explain import explain_unplaced
    from matching.job import run_matching
    from samhjelp.app import utc_now
    from samhjelp.bootstrap import resolve_database_url
    from samhjelp.database import make_engine, make_sessionmaker

    settings = _settings()

    async def run() -> Any:
        engine = make_engine(resolve_database_url(settings), pool_size=1)
        try:
            return await run_matching(
                make_sessionmaker(engine), now=utc_now(), dry_run=args.dry_run
            )
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    if not report.ran:
        print("another matching run holds the lock; nothing done")
        return
    assert report.plan is not None and report.inputs is not None
    names = report.inputs.organisation_names
    verb = "would form" if args.dry_run else "formed"
    print(f"{report.candidates} waiting; {verb} {report.groups} groups placing {report.placed}")
    for g in report.plan.groups:
        what = g.theme or "på tvers"
        where = "digital" if g.digital else names.get(g.organisation, g.organisation)
        print(f"  group: {len(g.members)} people, {what}, {g.language}, {g.slot}, {where}")
    themes = {t.slug: t.nb for t in THEMES}
    for u in report.plan.unplaced[: args.show]:
        text = explain_unplaced(u, "nb", organisations=names, themes=themes)
        print(f"  waiting {u.candidate[:8]}: {text}")


def cmd_outbox(args: argparse.Namespace) -> None:
    import uuid

    from notify import list_messages, retry_failed
    from samhjelp.app import utc_now

    if args.action == "deliver":
        _outbox_deliver(args)
        return
    settings = _settings()
    if args.action == "list":

        async def listing(session: AsyncSession) -> Any:
            return await list_messages(session, status=args.status, limit=args.limit)

        rows = _in_transaction(settings, listing)
        print("id\tchannel\ttemplate\tlang\tstatus\tattempts\tcreated\tnext attempt\terror")
        for m in rows:
            print(
                f"{m.id}\t{m.channel}\t{m.template}\t{m.lang}\t{m.status}\t{m.attempts}\t"
                f"{m.created_at:%Y-%m-%d %H:%M}\t{m.next_attempt_at:%Y-%m-%d %H:%M}\t"
                f"{m.last_error or ''}"
            )
        return
    try:
        ids = [uuid.UUID(i) for i in args.ids] or None
    except ValueError:
        sys.exit("samhjelp: message ids must be UUIDs (see `samhjelp outbox list`)")

    async def retry(session: AsyncSession) -> int:
        return await retry_failed(session, ids, now=utc_now())

    print(f"re-queued {_in_transaction(settings, retry)} failed message(s)")


# --- Making time pass for a trial or a demo: `lifecycle tick` and `outbox deliver` -------------
# The scheduler moves the life cycle by the wall clock. To walk a group from start notice to
# self-running in minutes, these commands run the very same jobs (samhjelp.jobs) with the
# services' clock set to a chosen moment. Time only moves forward: a moment before the wall
# clock, or before the latest life-cycle event already recorded, is refused with the reason,
# because states move forward only and a tick "back in time" would silently do nothing.

_STEP = re.compile(r"(\d+)([wdhm])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


def _moment(text: str | None, now: datetime) -> datetime:
    """``None`` → ``now``; ``+8d``, ``+1w2d``, ``+36h``, ``+90m`` → that much after ``now``;
    an ISO date and time (Oslo time unless it names its own offset) → that moment."""
    if text is None:
        return now
    if text.startswith("+"):
        rest = text[1:]
        steps = _STEP.findall(rest)
        if not steps or "".join(n + u for n, u in steps) != rest:
            sys.exit(f"samhjelp: --at {text!r}: write e.g. +8d, +36h, +1w2d or 2026-12-01T18:00")
        delta = timedelta()
        for number, unit in steps:
            delta += timedelta(**{_UNITS[unit]: int(number)})
        return now + delta
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        sys.exit(f"samhjelp: --at {text!r}: write e.g. +8d, +36h, +1w2d or 2026-12-01T18:00")
    return at if at.tzinfo is not None else at.replace(tzinfo=OSLO)


def _oslo(at: datetime) -> str:
    return f"{at.astimezone(OSLO):%Y-%m-%d %H:%M} Oslo time"


async def _check_forward(services: Services, at: datetime, wall: datetime) -> None:
    """Refuse a moment that lies behind what already happened (see the block comment)."""
    from sqlalchemy import func, select

    from matching.tables import group_event

    # A minute of slack: ``--at`` typed as "now" must not fail on the seconds it took.
    if at < wall - timedelta(minutes=1):
        sys.exit(
            f"samhjelp: --at {_oslo(at)} is in the past (now is {_oslo(wall)}). Time only moves "
            "forward; without --at the tick runs at the current time, as the scheduler does."
        )
    async with services.sessionmaker() as session:
        latest = await session.scalar(select(func.max(group_event.c.at)))
    if latest is not None and at < latest:
        sys.exit(
            f"samhjelp: the life cycle has already been moved to {_oslo(latest)} (its latest "
            f"event); --at {_oslo(at)} would go back in time. Pick a moment at or after it, "
            "e.g. a larger +Nd."
        )


async def _deliver_at(services: Services) -> dict[str, int]:
    from samhjelp import jobs

    return await jobs.deliver(services)


def _where_mail_goes(services: Services) -> str:
    notify = services.notify
    if notify.mail_channel != "folder" and notify.smtp_host:
        return f"SMTP {notify.smtp_host}:{notify.smtp_port}"
    return f"the folder {notify.outbox_dir}"


def _run_at(
    args: argparse.Namespace, work: Callable[[Services, datetime], Awaitable[None]]
) -> None:
    """Build the process's services on the configured (or embedded) database, with the clock
    stopped at ``--at``, and run ``work`` on them (and the wall clock's reading)."""
    from samhjelp.bootstrap import build_services, resolve_database_url
    from samhjelp.services import utc_now

    settings = _settings()
    wall = utc_now()
    at = _moment(args.at, wall)

    async def run() -> None:
        services = build_services(settings, resolve_database_url(settings), pool_size=2)
        services.clock = lambda: at
        try:
            if args.at is not None:
                await _check_forward(services, at, wall)
            await work(services, wall)
        finally:
            await services.engine.dispose()

    asyncio.run(run())


def cmd_lifecycle(args: argparse.Namespace) -> None:
    from samhjelp import jobs

    async def work(services: Services, wall: datetime) -> None:
        at = services.clock()
        ahead = at - wall
        note = f" ({_ahead(ahead)} ahead of the clock)" if ahead > timedelta(minutes=1) else ""
        report = await jobs.lifecycle(services)
        if not report.get("ran"):
            print("another life-cycle tick holds the lock; nothing done")
            return
        print(f"life cycle ticked at {_oslo(at)}{note}")
        steps = {k: v for k, v in report.items() if k != "ran"}
        for key, count in sorted(steps.items()):
            print(f"  {key}: {count}")
        if not steps:
            print("  nothing was due")
        if args.deliver:
            sent = await _deliver_at(services)
            print(
                f"delivered {sent['sent']} message(s) to {_where_mail_goes(services)}"
                f" ({sent['retrying']} retrying, {sent['failed']} failed)"
            )

    _run_at(args, work)


def _ahead(delta: timedelta) -> str:
    days, seconds = delta.days, delta.seconds
    hours = seconds // 3600
    return f"{days} d {hours} h" if days else f"{hours} h {seconds % 3600 // 60} min"


def _outbox_deliver(args: argparse.Namespace) -> None:
    async def work(services: Services, wall: datetime) -> None:
        sent = await _deliver_at(services)
        print(
            f"delivered {sent['sent']} message(s) to {_where_mail_goes(services)}"
            f" ({sent['retrying']} retrying, {sent['failed']} failed)"
        )

    _run_at(args, work)


def _add_time_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    outbox_sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    at_help = (
        "run as if it were this moment: +8d, +36h, +1w2d (from now) or 2026-12-01T18:00 "
        "(Oslo time); never before now or before the latest life-cycle event"
    )
    life = sub.add_parser("lifecycle", help="the group life cycle (start notice → self-running)")
    life_sub = life.add_subparsers(dest="action", required=True)
    tick = life_sub.add_parser(
        "tick", help="advance every group now (what the scheduler does each minute)"
    )
    tick.add_argument("--at", help=at_help)
    tick.add_argument(
        "--no-deliver",
        dest="deliver",
        action="store_false",
        help="leave the messages in the outbox (default: deliver what is due at --at)",
    )
    life.set_defaults(func=cmd_lifecycle)
    deliver = outbox_sub.add_parser("deliver", help="deliver due messages now")
    deliver.add_argument("--at", help="also deliver messages due up to this moment; " + at_help)


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="samhjelp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, seed reference data and serve HTTP")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--demo", action="store_true", help="also load the demo registry")
    serve.add_argument(
        "--workers", type=int, default=1, help="server processes (each runs the jobs too)"
    )
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade", "seed"])
    db.add_argument("--demo", action="store_true", help="with seed: add demo organisations")
    db.set_defaults(func=cmd_db)

    org = sub.add_parser("org", help="organisations (LINK, contact points, …)")
    org_sub = org.add_subparsers(dest="action", required=True)
    add = org_sub.add_parser("add")
    add.add_argument("--name", required=True)
    add.add_argument(
        "--kind",
        required=True,
        choices=["link", "contact_point", "learning_mastery_service", "municipal_service"],
    )
    add.add_argument("--municipalities", default="", help="comma-separated kommunenummer")
    add.add_argument("--slug")
    add.add_argument("--email", help="contact address")
    add.add_argument("--coordinator", help="coordinator's e-mail for alerts")
    add.add_argument(
        "--controller", help="legal data controller named on the privacy page, e.g. 'Oslo kommune'"
    )
    add.add_argument("--privacy-contact", help="e-mail or phone for privacy questions")
    org_sub.add_parser("list")
    org.set_defaults(func=cmd_org)

    fac = sub.add_parser("facilitator", help="facilitators (igangsettere)")
    fac_sub = fac.add_subparsers(dest="action", required=True)
    fadd = fac_sub.add_parser("add")
    fadd.add_argument("--org", required=True, help="organisation slug or id")
    fadd.add_argument("--name", required=True)
    fadd.add_argument("--email")
    fadd.add_argument("--phone")
    fadd.add_argument(
        "--themes", required=True, help="comma-separated theme slugs; 'across' = cross-problem"
    )
    fadd.add_argument("--languages", default="no", help="comma-separated ISO 639-1 codes")
    fadd.add_argument("--max-starts", type=int, default=1, help="starts taken at once")
    fadd.add_argument("--digital", action="store_true", help="also starts digital groups")
    flist = fac_sub.add_parser("list")
    flist.add_argument("--org")
    fac.set_defaults(func=cmd_facilitator)

    key = sub.add_parser("apikey", help="API keys for referrers and staff")
    key_sub = key.add_subparsers(dest="action", required=True)
    create = key_sub.add_parser("create")
    create.add_argument("--org", required=True, help="organisation slug or id")
    create.add_argument("--role", required=True, choices=["referrer", "staff"])
    create.add_argument("--label")
    key.set_defaults(func=cmd_apikey)
    match = sub.add_parser("match", help="group forming")
    match_sub = match.add_subparsers(dest="action", required=True)
    run = match_sub.add_parser("run", help="run the matching job now")
    run.add_argument("--dry-run", action="store_true", help="print the plan, store nothing")
    run.add_argument("--show", type=int, default=20, help="how many waiting people to explain")
    match.set_defaults(func=cmd_match)

    group = sub.add_parser("group", help="groups and their start (coordinator's overview)")
    group_sub = group.add_subparsers(dest="action", required=True)
    glist = group_sub.add_parser("list")
    glist.add_argument("--org", help="organisation slug or id")
    glist.add_argument(
        "--status",
        choices=[
            "proposed",
            "accepted",
            "scheduled",
            "running",
            "self_running",
            "lapsed",
            "closed",
        ],
    )
    gev = group_sub.add_parser("events", help="who did what when")
    gev.add_argument("id")
    gmove = group_sub.add_parser("reschedule", help="move a planned meeting")
    gmove.add_argument("id")
    gmove.add_argument("--meeting", type=int, required=True, help="meeting number (1..N)")
    gmove.add_argument("--at", required=True, help="new start, e.g. 2026-12-01T18:00 (Oslo time)")
    gmove.add_argument("--place", help="new place (default: unchanged)")
    gclose = group_sub.add_parser("close", help="close a group with a reason")
    gclose.add_argument("id")
    gclose.add_argument("--reason", required=True)
    group.set_defaults(func=cmd_group)

    outbox = sub.add_parser("outbox", help="outgoing e-mail and SMS")
    outbox_sub = outbox.add_subparsers(dest="action", required=True)
    listing = outbox_sub.add_parser("list", help="newest messages (no addresses or text)")
    listing.add_argument("--status", choices=["pending", "sending", "sent", "failed"])
    listing.add_argument("--limit", type=int, default=50)
    retry = outbox_sub.add_parser("retry", help="re-queue failed messages")
    retry.add_argument("ids", nargs="*", help="message ids; none: every failed message")
    outbox.set_defaults(func=cmd_outbox)
    _add_time_commands(sub, outbox_sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logs.configure(_settings().log_level)
    args.func(args)


if __name__ == "__main__":
    main()
