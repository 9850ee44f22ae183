"""The monthly suggestion message (issue 13 §2): "a small change could get you into a group now".

For every waiting person who opted in at sign-up, left a contact and had no such message in the
last 30 days (:data:`intake.nudges.INTERVAL`), the latest matching run's note
(:func:`matching.notes.suggestions_for`) is read; if one of its suggestions places the person
*now* (not only "soon"), one message goes out through the outbox with a link to
``/forslag/<token>`` (``intake.web.suggestion_pages``), where the person sees the change(s),
accepts one, or stops these messages.

Safe with any number of replicas: a run holds ``pg_try_advisory_xact_lock`` (another replica's
run skips), a batch's people are claimed by one conditional ``UPDATE`` (``intake.nudges.
claim_messages``: only those still due), and the outbox dedupe key (a keyed hash of the person and
the day) drops a repeat. The message is enqueued in the same transaction as the claim, so a
crash leaves neither.

It lives in the composition root because it needs matching's notes, intake's rows, groups'
organisation sender and notify's outbox at once; no package below may import all of them.
Logs carry counts only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups.common import message_with_link, person_key
from groups.config import Lifecycle
from intake import nudges, pool
from intake.tables import interest
from matching.model import Suggestion
from matching.notes import suggestions_for
from matching.tables import waiting_note

#: Any number unique to this job (pg_try_advisory_xact_lock key).
NUDGE_LOCK = 0x5A4D_6865_6C70_0013
PATH = "/forslag/"


@dataclass
class NudgeReport:
    ran: bool = True
    considered: int = 0
    sent: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"ran": self.ran, "considered": self.considered, "sent": self.sent}


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{PATH}{token}"


def placing_now(suggestions: list[Suggestion]) -> list[nudges.Change]:
    """The suggestions that would place the person at the next run, best first."""
    return [nudges.Change(str(s.kind.value), s.value) for s in suggestions if not s.soon]


async def _due(session: AsyncSession, now: datetime, limit: int) -> list[Any]:
    """Due people whose latest note has a suggestion that places them now, longest waiting
    first. The note is filtered here, not after the limit: people with nothing to offer stay
    due every hour and would otherwise fill every batch and starve the rest."""
    return list(
        (
            await session.execute(
                select(
                    interest.c.id,
                    interest.c.organisation_id,
                    interest.c.suggestion_language,
                )
                .join(waiting_note, waiting_note.c.interest_id == interest.c.id)
                .where(
                    interest.c.status == "waiting",
                    interest.c.contact_encrypted.is_not(None),
                    *nudges.due_clause(now),
                    waiting_note.c.suggestions.contains([{"soon": False}]),
                )
                .order_by(interest.c.waiting_since, interest.c.id)
                .limit(limit)
            )
        ).all()
    )


async def run_nudges(
    maker: async_sessionmaker[AsyncSession],
    lc: Lifecycle,
    *,
    now: datetime,
    batch_size: int = 200,
    max_batches: int = 50,
) -> NudgeReport:
    """Send the due suggestion messages, ``batch_size`` people per transaction (short, so a
    matching run that skips locked rows misses few), until a batch sends nothing or after
    ``max_batches`` (the next hourly run goes on)."""
    report = NudgeReport()
    for _ in range(max_batches):
        batch = await _batch(maker, lc, now=now, size=batch_size)
        if not batch.ran:
            report.ran = report.considered > 0
            break
        report.considered += batch.considered
        report.sent += batch.sent
        if batch.sent == 0:
            break
    return report


async def _batch(
    maker: async_sessionmaker[AsyncSession], lc: Lifecycle, *, now: datetime, size: int
) -> NudgeReport:
    """One transaction: lock, pick up to ``size`` due people, claim and enqueue."""
    report = NudgeReport()
    async with maker.begin() as session:
        if not await session.scalar(select(func.pg_try_advisory_xact_lock(NUDGE_LOCK))):
            report.ran = False
            return report
        due = await _due(session, now, size)
        report.considered = len(due)
        if not due:
            return report
        found = await suggestions_for(session, [r.id for r in due])
        offers = {r.id: placing_now(found.get(r.id, [])) for r in due}
        wanted = [r for r in due if offers[r.id]]
        if not wanted:
            return report
        contacts = await pool.contacts(session, [r.id for r in wanted], lc.cipher)
        orgs = await pool.organisations(
            session, {r.organisation_id for r in wanted if r.organisation_id is not None}
        )
        # One statement claims them all (only those still due: a racing run gets none).
        tokens = await nudges.claim_messages(
            session,
            {r.id: offers[r.id] for r in wanted if r.id in contacts},
            now=now,
            secret=lc.link_secret,
        )
        for row in wanted:
            token = tokens.get(row.id)
            if token is None:
                continue
            org = orgs.get(row.organisation_id)
            await message_with_link(
                session, lc, interest_id=row.id, language=row.suggestion_language,
                contact=contacts[row.id], org=org, template="suggestion_offer",
                url=link_url(lc.base_url, token), respond_by=now + nudges.LINK_VALID,
                dedupe_key=f"suggestion:{person_key(lc, row.id)}:{now.date().isoformat()}",
                copy_coordinator=True, now=now,
            )  # fmt: skip
            report.sent += 1
    return report
