"""After-course referrals from learning-and-mastery services (KID, KIB, Starthjelp, …).

A referrer sees only aggregate outcomes of the people it referred, never individuals: the
service learns whether referring works without learning who went on.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.crypto import ContactCipher
from intake.disclosure import protect_parts
from intake.errors import FieldProblem, InvalidInterest, NotFound
from intake.interests import insert_interest, prepare, register
from intake.receipt import ALPHABET
from intake.registry import organisation_by_ref
from intake.schemas import (
    InterestIn,
    ReferralBatch,
    ReferralBatchIn,
    ReferralLink,
    ReferralLinkIn,
    ReferralOutcome,
    Registered,
)
from intake.tables import interest, referral

#: How long after the course ends its referral link still works: people often wait a while
#: after a course before they feel ready for a group.
LINK_GRACE = timedelta(days=180)
#: How far ahead a course may end: a plausible planning horizon that also keeps
#: ``ends_on + LINK_GRACE`` far from the end of the calendar.
LINK_HORIZON = timedelta(days=3 * 366)


def _link_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(8))


async def create_link(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    data: ReferralLinkIn,
    *,
    base_url: str,
    today: date | None = None,
) -> ReferralLink:
    """A sign-up link for one course. With ``today`` (the API), a link that would already
    have expired, or a course ending years ahead, is refused: neither is a real course."""
    if today is not None and not (today - LINK_GRACE <= data.ends_on <= today + LINK_HORIZON):
        raise InvalidInterest(
            [
                FieldProblem(
                    "ends_on",
                    "the link would end in the past"
                    if data.ends_on < today
                    else "the course ends too far ahead",
                    "out_of_range",
                )
            ]
        )
    target = None
    if data.target_organisation:
        try:
            target = (await organisation_by_ref(session, data.target_organisation)).id
        except NotFound:
            raise InvalidInterest(
                [FieldProblem("target_organisation", "unknown organisation", "unknown")]
            ) from None
    rid, code = uuid.uuid4(), _link_code()
    await session.execute(
        referral.insert().values(
            id=rid,
            code=code,
            organisation_id=organisation_id,
            target_organisation_id=target,
            course_kind=data.course_kind,
            course_name=data.course_name,
            ends_on=data.ends_on,
        )
    )
    return ReferralLink(
        id=rid,
        code=code,
        url=f"{base_url.rstrip('/')}/meld-interesse?ref={code}",
        course_kind=data.course_kind,
        ends_on=data.ends_on,
        valid_until=data.ends_on + LINK_GRACE,
    )


async def resolve_link(
    session: AsyncSession, code: str, *, today: date
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """The referral id and target organisation of a still-valid link code."""
    row = (
        await session.execute(
            select(referral.c.id, referral.c.target_organisation_id, referral.c.ends_on).where(
                referral.c.code == code.strip().upper()
            )
        )
    ).first()
    if row is None or (row.ends_on is not None and row.ends_on + LINK_GRACE < today):
        raise InvalidInterest(
            [FieldProblem("referral_code", "unknown or expired referral link", "unknown")]
        )
    return row.id, row.target_organisation_id


async def create_batch(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    data: ReferralBatchIn,
    *,
    cipher: ContactCipher,
    now: datetime,
) -> ReferralBatch:
    """Register a batch of consenting participants: all or nothing."""
    problems: list[FieldProblem] = []
    placements = []
    for i, person in enumerate(data.participants):
        placement, found = await prepare(session, person, field_prefix=f"participants[{i}].")
        problems.extend(found)
        placements.append(placement)
    if problems:
        raise InvalidInterest(problems)
    rid = uuid.uuid4()
    await session.execute(
        referral.insert().values(
            id=rid,
            organisation_id=organisation_id,
            course_kind=data.course_kind,
            course_name=data.course_name,
            ends_on=data.ends_on,
        )
    )
    codes = []
    for person, placement in zip(data.participants, placements, strict=True):
        assert placement is not None
        done = await insert_interest(
            session, person, placement, cipher=cipher, source="referral", now=now, referral_id=rid
        )
        codes.append(done.receipt_code)
    return ReferralBatch(id=rid, receipt_codes=codes)


async def outcome(
    session: AsyncSession, organisation_id: uuid.UUID, referral_id: uuid.UUID
) -> ReferralOutcome:
    """Counts by status for one referral (link or batch) of the caller's organisation."""
    found = (
        await session.execute(
            select(
                referral.c.course_kind,
                referral.c.erased_withdrawn,
                referral.c.erased_placed,
                referral.c.erased_lapsed,
            ).where(referral.c.id == referral_id, referral.c.organisation_id == organisation_id)
        )
    ).first()
    if found is None:
        raise NotFound("no such referral for your organisation")
    kind = found.course_kind
    counts: dict[str, int] = dict(
        (
            await session.execute(
                select(interest.c.status, func.count())
                .where(interest.c.referral_id == referral_id)
                .group_by(interest.c.status)
            )
        ).all()
    )
    # Erased registrations survive only as the referral's counters (issue 8); a lapsed one
    # (no sign of life for a year while waiting, intake.lapse) is its own part of the total.
    parts = {
        "waiting": counts.get("waiting", 0),
        "in_progress": counts.get("proposed", 0) + counts.get("invited", 0),
        "placed": counts.get("placed", 0) + found.erased_placed,
        "withdrawn": counts.get("withdrawn", 0) + found.erased_withdrawn,
        "lapsed": found.erased_lapsed,
    }
    # A referrer knows who was on the course: a count of 1–4 could tell them who went on.
    shown = protect_parts(sum(parts.values()), parts)
    return ReferralOutcome(
        id=referral_id,
        course_kind=kind,
        total=shown["total"],
        waiting=shown["waiting"],
        in_progress=shown["in_progress"],
        placed=shown["placed"],
        withdrawn=shown["withdrawn"],
        lapsed=shown["lapsed"],
        suppressed=[k for k, v in shown.items() if v is None],
    )


async def register_self(
    session: AsyncSession,
    data: InterestIn,
    *,
    cipher: ContactCipher,
    now: datetime,
    strict_link: bool = True,
) -> Registered:
    """A person's own sign-up (API or page). A valid ``referral_code`` attributes it to the
    course and places the person with the course's organisation where that serves their
    municipality. ``strict_link=False`` (the web form) lets an expired link pass unattributed,
    since an old poster must never stop anyone from signing up."""
    referral_id: uuid.UUID | None = None
    target: uuid.UUID | None = None
    if data.referral_code:
        try:
            referral_id, target = await resolve_link(session, data.referral_code, today=now.date())
        except InvalidInterest:
            if strict_link:
                raise
    return await register(
        session,
        data,
        cipher=cipher,
        source="referral" if referral_id else "self",
        now=now,
        preferred_org=target,
        referral_id=referral_id,
    )
