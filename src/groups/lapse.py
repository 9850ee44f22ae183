"""The lapse job: "do you still want a group?" once, then erasure of waiting registrations
past their keep-until date (rules in :mod:`intake.lapse`).

Two steps, each in short transactions of ``batch_size`` people:

1. **Notices.** Waiting people with a contact whose keep-until date is
   :attr:`~intake.lapse.LapsePolicy.notice` away get one message (template ``lapse_notice``,
   e-mail or SMS, in the language they signed up in) with a signed link to ``/behold/<token>``
   (``intake.web.keep_pages``). The claim is one conditional ``UPDATE`` (only those still due),
   and the outbox dedupe key (a keyed hash of the person and their last sign of life) drops a
   repeat, so nobody gets two for one period.
2. **Erasure.** Registrations whose keep-until date has come are erased through the one erasure
   path, :func:`groups.erasure.forget` with outcome ``lapsed``: memberships, links and messages
   first, then ``intake.erasure.erase_interests`` folds them into ``interest_tally`` (the same
   dimensions as a withdrawal) and the referral's ``erased_lapsed``, and deletes them. Someone
   with an active group membership is never erased here, whatever their status says.

Safe with any number of replicas: every batch holds ``pg_try_advisory_xact_lock`` (another
replica's batch skips), rows are taken ``FOR UPDATE SKIP LOCKED`` and the erasure counts a row
only when its ``DELETE`` removed it. Logs carry counts only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups.common import message_with_link, person_key
from groups.config import Lifecycle
from groups.erasure import forget
from intake import lapse, pool
from intake.lapse import LapsePolicy
from intake.tables import interest
from matching.tables import group_member

log = logging.getLogger("samhjelp.groups")

#: Advisory lock key of this job (next to the tick's ...0002 and the nudges' ...0013).
LAPSE_LOCK = 0x5A4D_6865_6C70_0026
PATH = "/behold/"


@dataclass
class LapseReport:
    ran: bool = True
    notices: int = 0
    lapsed: int = 0

    def summary(self) -> dict[str, Any]:
        return {"ran": self.ran, "notices": self.notices, "lapsed": self.lapsed}


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{PATH}{token}"


async def run_lapse(
    maker: async_sessionmaker[AsyncSession],
    lc: Lifecycle,
    policy: LapsePolicy,
    *,
    now: datetime,
    batch_size: int = 500,
    max_batches: int = 20,
) -> LapseReport:
    """Send the due notices, then erase the lapsed registrations, a batch per transaction,
    until a batch finds nothing or after ``max_batches`` of each (the next run goes on)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    report = LapseReport()
    for step in (_notices, _erase):
        for _ in range(max_batches):
            async with maker.begin() as session:
                if not await session.scalar(select(func.pg_try_advisory_xact_lock(LAPSE_LOCK))):
                    report.ran = report.notices + report.lapsed > 0
                    return report
                done = await step(session, lc, policy, now=now, size=batch_size)
            if step is _notices:
                report.notices += done
            else:
                report.lapsed += done
            if done < batch_size:
                break
    if report.notices or report.lapsed:
        log.info("registrations lapse", extra=report.summary())
    return report


def _in_no_group() -> Any:
    """No active membership in any group (the status should say so; this makes sure)."""
    return ~exists().where(group_member.c.interest_id == interest.c.id, group_member.c.active)


async def _notices(
    session: AsyncSession, lc: Lifecycle, policy: LapsePolicy, *, now: datetime, size: int
) -> int:
    due = (
        await session.execute(
            select(
                interest.c.id,
                interest.c.organisation_id,
                interest.c.suggestion_language,
                func.coalesce(interest.c.alive_at, interest.c.created_at).label("alive"),
            )
            .where(*lapse.notice_due(policy, now), _in_no_group())
            .order_by(func.coalesce(interest.c.alive_at, interest.c.created_at), interest.c.id)
            .limit(size)
            .with_for_update(of=interest, skip_locked=True)
        )
    ).all()
    if not due:
        return 0
    contacts = await pool.contacts(session, [r.id for r in due], lc.cipher)
    orgs = await pool.organisations(
        session, {r.organisation_id for r in due if r.organisation_id is not None}
    )
    tokens = await lapse.claim_notices(
        session, [r.id for r in due if r.id in contacts], policy, now=now, secret=lc.link_secret
    )
    # The person's keep-until date once told: the notice period from now (intake.lapse).
    keep_until = now + policy.notice
    for row in due:
        token = tokens.get(row.id)
        if token is None:
            continue
        await message_with_link(
            session, lc, interest_id=row.id, language=row.suggestion_language,
            contact=contacts[row.id], org=orgs.get(row.organisation_id), template="lapse_notice",
            url=link_url(lc.base_url, token),
            respond_by=keep_until,  # when the registration is deleted unless the person answers
            # One per period: the period is named by its sign of life, never readable as who.
            dedupe_key=f"lapse:{person_key(lc, row.id)}:{int(row.alive.timestamp())}",
            now=now,
        )  # fmt: skip
    # Claimed or not, every due row was looked at: a short batch means the work is done.
    return len(due)


async def _erase(
    session: AsyncSession, lc: Lifecycle, policy: LapsePolicy, *, now: datetime, size: int
) -> int:
    ids = list(
        (
            await session.execute(
                select(interest.c.id)
                .where(*lapse.erase_due(policy, now), _in_no_group())
                .order_by(func.coalesce(interest.c.alive_at, interest.c.created_at))
                .limit(size)
                .with_for_update(of=interest, skip_locked=True)
            )
        ).scalars()
    )
    erased, _ = await forget(session, ids, outcome="lapsed", now=now)
    return erased
