"""The ``samhjelp`` command: serve, db, match, outbox.

Registry commands live in :mod:`samhjelp.cli_registry`, time travel in :mod:`samhjelp.cli_time`,
staff users of the console in :mod:`samhjelp.cli_staff`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from intake.errors import IntakeError
from intake.reference import THEMES
from samhjelp import logs
from samhjelp.settings import Settings

if TYPE_CHECKING:
    from samhjelp.services import Services


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


def development_base_url(settings: Settings, port: int) -> str:
    """The public URL links in messages point at: in development with none configured, this
    server's own port on ``localhost`` (so ``serve --port 8001`` sends working sign-in links)."""
    if settings.environment == "development" and "public_base_url" not in settings.model_fields_set:
        return f"http://localhost:{port}"
    return settings.public_base_url


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
    base = development_base_url(settings, port)
    if settings.environment == "development":
        # The app (and each worker) reads its settings again: links and passkeys follow this.
        os.environ["SAMHJELP_PUBLIC_BASE_URL"] = base
        print(
            f"samhjelp: open {base}/ — staff console {base}/ansatt: first `samhjelp user add"
            f" --name NAME --email EMAIL --role administrator`; in development the sign-in"
            f" mail lands in {settings.data_dir / 'outbox'}/ (unless SAMHJELP_SMTP_HOST is set)",
            file=sys.stderr,
        )
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
    joined = "would join" if args.dry_run else "joined"
    print(
        f"{report.candidates} waiting; {verb} {report.groups} groups placing {report.placed};"
        f" {report.joined} {joined} groups that have not met yet"
    )
    for g in report.plan.groups:
        what = g.theme or "på tvers"
        where = "digital" if g.digital else names.get(g.organisation, g.organisation)
        print(f"  group: {len(g.members)} people, {what}, {g.language}, {g.slot}, {where}")
    # Who joins which group that has not met yet: the group by its id's first characters (as
    # the console shows it), its size before the run and after, never the people's ids.
    groups = {o.id: o for o in report.inputs.open_groups}
    joining = Counter(a.group for a in report.additions)
    for gid, n in joining.items():
        o = groups[gid]
        what = o.theme or "på tvers"
        where = "digital" if o.digital else names.get(o.organisation, o.organisation)
        print(
            f"  {joined}: group {gid[:8]} ({what}, {o.language}, {o.slot}, {where}):"
            f" {len(o.members)} → {len(o.members) + n} people"
        )
    themes = {t.slug: t.nb for t in THEMES}
    for cid in report.plan.waiting[: args.show]:  # explains only the people shown
        u = report.plan.why(cid)
        text = explain_unplaced(u, "nb", organisations=names, themes=themes)
        print(f"  waiting {u.candidate[:8]}: {text}")


def cmd_outbox(args: argparse.Namespace) -> None:
    import uuid

    from notify import list_messages, retry_failed
    from samhjelp.app import utc_now

    if args.action == "deliver":
        from samhjelp.cli_time import _outbox_deliver

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


def build_parser() -> argparse.ArgumentParser:
    # Imported here, not at the top: the command modules import this module's helpers, and
    # ``python -m samhjelp.cli`` must not import them before those helpers exist.
    from samhjelp.cli_registry import cmd_apikey, cmd_facilitator, cmd_group, cmd_org
    from samhjelp.cli_staff import add_user_commands
    from samhjelp.cli_time import _add_time_commands

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
    add_user_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logs.configure(_settings().log_level)
    args.func(args)


if __name__ == "__main__":
    main()
