"""The roster: how the facilitator reaches each participant who has said yes.

Consent texts 2026-11-v1 and 2026-12-v3 promise that the facilitator of a group the person said
yes to sees their e-mail or mobile number to contact them; this is how. People who agreed to
2026-12-v2, which promised the facilitator would never see it, are listed as "contact not
shared" and their address is not decrypted (:func:`intake.pool.facilitator_contacts`). The roster is
a signed, expiring link (:attr:`groups.links.Purpose.ROSTER`, object: the group, subject: the
facilitator) that can be opened many times; each view is a ``roster_viewed`` group event that
records who looked and how many contacts were shown, never the contact itself.

People are shown by a pseudonymous label ("Deltaker 1", "Participant 2") and their contact
channel: nothing else about them (no theme, age or gender) is needed to call or write. Only
members who confirmed are listed; a confirmed person without a contact channel (they follow the
group on their status page) is shown as such. Contact data is read from the interest row, so
once a person withdraws or the group's contact data is erased, the roster no longer shows them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from groups import links
from groups.config import Lifecycle, LifecycleConfig
from groups.links import Purpose
from intake import pool
from intake.crypto import ContactCipher
from matching.service import record_event
from matching.tables import ACTIVE_MEMBER_STATES, OPEN_GROUP_STATES, group_member, start_group

#: Members who have said yes to the group.
SAID_YES = ("confirmed",)


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One participant who said yes: a number for the label, and how to reach them."""

    number: int
    kind: str | None  # 'email' | 'sms' | None (no contact left, or not shared)
    value: str | None = field(default=None, repr=False)
    #: They gave a contact, but their consent version does not let the facilitator see it.
    not_shared: bool = False


def roster_expiry(now: datetime, config: LifecycleConfig, meetings: int) -> datetime:
    """A roster link lasts while the facilitator may still need it: until the form's window
    and every facilitated meeting have passed (the configured windows, not defaults)."""
    return now + config.meeting_form_valid + config.meeting_interval * meetings + timedelta(days=1)


async def issue_link(
    session: AsyncSession,
    lc: Lifecycle,
    group_id: uuid.UUID,
    facilitator_id: uuid.UUID,
    *,
    meetings: int,
    now: datetime,
) -> str:
    """A new roster link for the group's facilitator (in the caller's transaction): the
    accept page and the invitations-sent page link to it; a message may carry one too."""
    token = await links.issue(
        session,
        secret=lc.link_secret,
        purpose=Purpose.ROSTER,
        object_id=group_id,
        subject_id=facilitator_id,
        expires_at=roster_expiry(now, lc.config, meetings),
        now=now,
    )
    return links.url(lc.base_url, token)


async def can_view(session: AsyncSession, group_id: uuid.UUID, facilitator_id: uuid.UUID) -> bool:
    """Only the group's current facilitator, and only while the group is open."""
    row = (
        await session.execute(
            select(start_group.c.facilitator_id, start_group.c.status).where(
                start_group.c.id == group_id
            )
        )
    ).first()
    return (
        row is not None and row.facilitator_id == facilitator_id and row.status in OPEN_GROUP_STATES
    )


async def load_roster(
    session: AsyncSession, group_id: uuid.UUID, cipher: ContactCipher
) -> list[RosterEntry]:
    """The confirmed members in joining order, each with their decrypted contact, "not
    shared" (their consent text did not allow it) or none."""
    ids = list(
        (
            await session.execute(
                select(group_member.c.interest_id)
                .where(
                    group_member.c.group_id == group_id,
                    group_member.c.active,
                    group_member.c.state.in_(SAID_YES),
                )
                .order_by(group_member.c.joined_at, group_member.c.interest_id)
            )
        ).scalars()
    )
    found = await pool.facilitator_contacts(session, ids, cipher)
    out = []
    for n, iid in enumerate(ids, start=1):
        if iid not in found:
            out.append(RosterEntry(n, None, None))
        elif (contact := found[iid]) is None:
            out.append(RosterEntry(n, None, None, not_shared=True))
        else:
            out.append(RosterEntry(n, contact.kind, contact.value))
    return out


async def awaiting_answer(session: AsyncSession, group_id: uuid.UUID) -> int:
    """Members holding a place who have not said yes yet (proposed, offered, invited): people
    who joined the group late are among them until they answer."""
    count = await session.scalar(
        select(func.count())
        .select_from(group_member)
        .where(
            group_member.c.group_id == group_id,
            group_member.c.active,
            group_member.c.state.in_(ACTIVE_MEMBER_STATES),
            group_member.c.state.not_in(SAID_YES),
        )
    )
    return int(count or 0)


async def record_view(
    session: AsyncSession,
    group_id: uuid.UUID,
    facilitator_id: uuid.UUID,
    entries: list[RosterEntry],
    *,
    now: datetime,
) -> None:
    """Each view is an event: who looked, when, how many were shown (no contact data)."""
    await record_event(
        session,
        group_id,
        now=now,
        actor=f"facilitator:{facilitator_id}",
        what="roster_viewed",
        detail={
            "shown": len(entries),
            "without_contact": sum(1 for e in entries if e.kind is None and not e.not_shared),
            "not_shared": sum(1 for e in entries if e.not_shared),
        },
    )
