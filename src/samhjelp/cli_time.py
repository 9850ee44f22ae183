"""``samhjelp lifecycle tick``, ``samhjelp lapse run`` and ``samhjelp outbox deliver``: making
time pass.

Its own module because these commands do something no other command does: they run the
scheduler's jobs with the services' clock stopped at a chosen moment, with their own parsing of
``--at`` and the forward-only checks, for trials and demos (see the block comment below).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from samhjelp.cli import _settings

if TYPE_CHECKING:
    from samhjelp.services import Services

OSLO = ZoneInfo("Europe/Oslo")

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
        at, note = _ran_at(services, wall)
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
            await _deliver_and_say(services)

    _run_at(args, work)


def cmd_lapse(args: argparse.Namespace) -> None:
    """The hourly lapse job once, now or at ``--at``: the "do you still want a group?"
    notices that are due, then erasure of the registrations past their keep-until date."""
    from samhjelp import jobs

    async def work(services: Services, wall: datetime) -> None:
        at, note = _ran_at(services, wall)
        report = await jobs.lapse(services)
        if not report.get("ran"):
            print("another lapse run holds the lock; nothing done")
            return
        print(f"lapse job ran at {_oslo(at)}{note}")
        print(f'  notices: {report["notices"]} ("do you still want a group?")')
        print(f"  lapsed: {report['lapsed']} (registrations erased, counted in the tallies)")
        if args.deliver:
            await _deliver_and_say(services)

    _run_at(args, work)


def _ran_at(services: Services, wall: datetime) -> tuple[datetime, str]:
    """The moment a job runs at, and a note if that is ahead of the wall clock."""
    at = services.clock()
    ahead = at - wall
    return at, f" ({_ahead(ahead)} ahead of the clock)" if ahead > timedelta(minutes=1) else ""


async def _deliver_and_say(services: Services) -> None:
    sent = await _deliver_at(services)
    print(
        f"delivered {sent['sent']} message(s) to {_where_mail_goes(services)}"
        f" ({sent['retrying']} retrying, {sent['failed']} failed)"
    )


def _ahead(delta: timedelta) -> str:
    days, seconds = delta.days, delta.seconds
    hours = seconds // 3600
    return f"{days} d {hours} h" if days else f"{hours} h {seconds % 3600 // 60} min"


def _outbox_deliver(args: argparse.Namespace) -> None:
    async def work(services: Services, wall: datetime) -> None:
        await _deliver_and_say(services)

    _run_at(args, work)


def _at_and_deliver(parser: argparse.ArgumentParser, at_help: str, what: str) -> None:
    """A job's --at and --no-deliver (lifecycle tick, lapse run)."""
    parser.add_argument("--at", help=at_help)
    parser.add_argument(
        "--no-deliver",
        dest="deliver",
        action="store_false",
        help=f"leave the {what} in the outbox (default: deliver what is due at --at)",
    )


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
    _at_and_deliver(tick, at_help, "messages")
    life.set_defaults(func=cmd_lifecycle)
    lapse = sub.add_parser("lapse", help="waiting registrations that lapse (the hourly job)")
    lapse_sub = lapse.add_subparsers(dest="action", required=True)
    run = lapse_sub.add_parser(
        "run", help="send the due notices and erase lapsed registrations now (what runs hourly)"
    )
    _at_and_deliver(run, at_help, "notices")
    lapse.set_defaults(func=cmd_lapse)
    deliver = outbox_sub.add_parser("deliver", help="deliver due messages now")
    deliver.add_argument("--at", help="also deliver messages due up to this moment; " + at_help)
