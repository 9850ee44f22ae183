"""Helpers shared by the life-cycle steps: loading a group, wording, addressing messages.

Every message goes through :func:`notify.enqueue` in the caller's transaction, so a state
change and the message it causes commit (or roll back) together.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from groups import links
from groups.brief import slot_text, when_text
from groups.config import Lifecycle
from groups.links import Purpose
from groups.model import Group, Member
from groups.tables import facilitator_offer, group_meeting
from intake import pool
from intake.reference import THEMES
from matching.service import record_event
from matching.states import ACTIVE_MEMBER_STATES, BEFORE_START
from matching.tables import group_event, group_member, start_group
from notify import Attachment, Channel, OutgoingMessage, Party, Sender, enqueue, seal_address

__all__ = ["BEFORE_START"]  # re-exported: callers used common.BEFORE_START before the enums

_ACROSS = {"nb": "på tvers av problemer", "nn": "på tvers av problem", "en": "across problems"}


async def load_group(
    session: AsyncSession, group_id: uuid.UUID, *, lock: bool = True
) -> Group | None:
    """The group as a typed row, locked for the rest of the transaction unless ``lock=False``."""
    stmt = select(start_group).where(start_group.c.id == group_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    return None if row is None else Group.from_row(row)


async def set_group(session: AsyncSession, group_id: uuid.UUID, **values: Any) -> None:
    await session.execute(update(start_group).where(start_group.c.id == group_id).values(**values))


async def event(
    session: AsyncSession,
    group_id: uuid.UUID,
    what: str,
    *,
    now: datetime,
    actor: str = "lifecycle",
    **detail: Any,
) -> None:
    await record_event(session, group_id, now=now, actor=actor, what=what, detail=detail)


async def has_event(session: AsyncSession, group_id: uuid.UUID, what: str) -> bool:
    """Whether ``what`` has been recorded for the group (steps that must happen only once)."""
    found = await session.execute(
        select(group_event.c.id)
        .where(group_event.c.group_id == group_id, group_event.c.what == what)
        .limit(1)
    )
    return found.first() is not None


async def tell_facilitator_ended(
    session: AsyncSession, lc: Lifecycle, group: Group, *, why: str, now: datetime
) -> bool:
    """A facilitator who said yes hears when the group is cancelled or closed."""
    if group.facilitator_id is None or group.accepted_at is None:
        return False
    fac = await facilitator_info(session, group.facilitator_id)
    if fac is None:
        return False
    org = await organisation(session, group.organisation_id)
    name = await group_name(session, group, org, "nb")
    return await to_facilitator(
        session, lc, fac, org, "group_ended",
        {"org_name": org.name, "area": area(group, org), "why": why, "group_name": name},
        dedupe_key=f"group_ended:{group.id}", now=now,
    )  # fmt: skip


async def active_members(session: AsyncSession, group_id: uuid.UUID) -> list[Member]:
    """Members holding a place, oldest first."""
    rows = await session.execute(
        select(group_member)
        .where(
            group_member.c.group_id == group_id,
            group_member.c.active,
            group_member.c.state.in_(ACTIVE_MEMBER_STATES),
        )
        .order_by(group_member.c.joined_at, group_member.c.interest_id)
    )
    return [Member.from_row(r) for r in rows.mappings()]


async def set_member(
    session: AsyncSession, group_id: uuid.UUID, interest_id: uuid.UUID, **values: Any
) -> None:
    await session.execute(
        update(group_member)
        .where(group_member.c.group_id == group_id, group_member.c.interest_id == interest_id)
        .values(**values)
    )


def theme_name(theme: str | None, lang: str) -> str:
    if theme is None:
        return _ACROSS.get(lang, _ACROSS["nb"])
    for t in THEMES:
        if t.slug == theme:
            return str(getattr(t, lang, t.nb))
    return theme


def participant_lang(group: Group) -> str:
    """Messages to participants: English for English-language groups, else bokmål."""
    return "en" if group.language == "en" else "nb"


async def organisation(session: AsyncSession, org_id: uuid.UUID) -> pool.OrganisationInfo:
    return (await pool.organisations(session))[org_id]


def area(group: Group, org: pool.OrganisationInfo) -> str:
    return f"{org.name} (digital)" if group.digital else org.name


async def group_name(
    session: AsyncSession, group: Group, org: pool.OrganisationInfo, lang: str
) -> str:
    """How messages name a group: theme, weekday and time of day, organisation, and when it
    starts ("sorg, tirsdag kveld (17:00–22:00), LINK Oslo, første møte tirsdag 01.12.2026 kl.
    18:00"). A facilitator with two groups, or a coordinator with twenty, can tell which one a
    message is about. Bodies only: subjects and SMS never name the theme."""
    parts = [theme_name(group.theme, lang)]
    try:
        parts.append(slot_text(group.slot, lang))
    except ValueError:  # an old or hand-made slot outside the sign-up vocabulary
        parts.append(group.slot)
    parts.append(area(group, org))
    first = await session.scalar(
        select(group_meeting.c.starts_at).where(
            group_meeting.c.group_id == group.id, group_meeting.c.number == 1
        )
    )
    if first is not None:
        label = {"en": "first meeting", "nn": "første møte"}.get(lang, "første møte")
        parts.append(f"{label} {when_text(first, lang)}")
    return ", ".join(parts)


def group_url(lc: Lifecycle, group_id: uuid.UUID) -> str:
    """Where staff read a group, its events and its check-in notes (the staff API)."""
    return f"{lc.base_url.rstrip('/')}/api/v1/staff/groups/{group_id}"


def sender(org: pool.OrganisationInfo) -> Attachment:
    """Messages come from the organisation: its name as the sender, replies to its address."""
    return Sender(org.name, org.contact_email).attachment()


def organizer(lc: Lifecycle, org: pool.OrganisationInfo) -> Party:
    """The calendar ORGANIZER: the organisation, at the address people can write to."""
    address = org.contact_email or org.coordinator_email
    if not address:
        host = lc.base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
        address = f"noreply@{host if '.' in host else 'samhjelp.invalid'}"
    return Party(address, org.name)


async def facilitator_info(
    session: AsyncSession, facilitator_id: uuid.UUID | None
) -> pool.FacilitatorInfo | None:
    if facilitator_id is None:
        return None
    for f in await pool.facilitators(session):
        if f.id == facilitator_id:
            return f
    return None


async def link(
    session: AsyncSession,
    lc: Lifecycle,
    purpose: Purpose,
    object_id: uuid.UUID,
    subject_id: uuid.UUID,
    *,
    expires_at: datetime,
    now: datetime,
) -> str:
    token = await links.issue(
        session,
        secret=lc.link_secret,
        purpose=purpose,
        object_id=object_id,
        subject_id=subject_id,
        expires_at=expires_at,
        now=now,
    )
    return links.url(lc.base_url, token)


#: Where the "your group" page lives (groups.answers); ``/s/`` links are used up, these not.
MEMBER_PATH = "/g/"


async def member_link(
    session: AsyncSession,
    lc: Lifecycle,
    group_id: uuid.UUID,
    subject_id: uuid.UUID,
    *,
    now: datetime,
) -> str:
    """A participant's (or the facilitator's) "your group" page: every meeting's time and place
    in full, and the answers a participant can give. It is what an SMS links to when a place
    or a meeting link does not fit, so it lives as long as the group can still meet; closing
    the group retires it with the group's other links."""
    token = await links.issue(
        session,
        secret=lc.link_secret,
        purpose=Purpose.MEMBER,
        object_id=group_id,
        subject_id=subject_id,
        expires_at=now + lc.config.followup_after + lc.config.erase_after + MEMBER_LINK_SLACK,
        now=now,
    )
    return f"{lc.base_url.rstrip('/')}{MEMBER_PATH}{token}"


#: The page outlives the facilitated meetings by this much (planned meetings are ≤ 8 weeks).
MEMBER_LINK_SLACK = timedelta(weeks=10)


async def to_facilitator(
    session: AsyncSession,
    lc: Lifecycle,
    fac: pool.FacilitatorInfo,
    org: pool.OrganisationInfo,
    template: str,
    context: Mapping[Any, Any],
    *,
    dedupe_key: str,
    now: datetime,
    attachments: tuple[Attachment, ...] = (),
) -> bool:
    """E-mail if the facilitator has an address, else SMS; False if neither exists."""
    if fac.email:
        channel, address = Channel.EMAIL, fac.email
        attachments = (*attachments, sender(org))
    elif fac.phone:
        channel, address, attachments = Channel.SMS, fac.phone, ()
    else:
        return False
    await enqueue(
        session,
        OutgoingMessage(
            channel=channel,
            recipient=seal_address(lc.cipher, address),
            template=template,
            lang="nb",
            context=dict(context),
            recipient_ref=f"facilitator:{fac.id}",
            organisation_id=org.id,
            coordinator=_coordinator(lc, org),
            attachments=attachments,
            dedupe_key=dedupe_key,
        ),
        now=now,
    )
    return True


async def to_participants(
    session: AsyncSession,
    lc: Lifecycle,
    group: Group,
    org: pool.OrganisationInfo,
    interest_ids: Sequence[uuid.UUID],
    template: str,
    context: Callable[[uuid.UUID], Mapping[Any, Any]] | Mapping[Any, Any],
    *,
    dedupe: str,
    now: datetime,
    attachments: Callable[[uuid.UUID, str], tuple[Attachment, ...]] | None = None,
) -> set[uuid.UUID]:
    """Message each participant who has a contact channel; returns who was addressed.

    ``context`` may be a function of the interest id (for personal links); ``attachments`` a
    function of the interest id and the e-mail address (the calendar's ATTENDEE); the dedupe
    key is ``<dedupe>:<person key>`` (:func:`person_key`). E-mails carry the organisation as
    sender (:func:`sender`).
    """
    found = await pool.contacts(session, interest_ids, lc.cipher)
    lang = participant_lang(group)
    for iid, contact in found.items():
        channel = Channel.EMAIL if contact.kind == "email" else Channel.SMS
        ctx = context(iid) if callable(context) else context
        files: tuple[Attachment, ...] = ()
        if channel is Channel.EMAIL:
            files = (*(attachments(iid, contact.value) if attachments else ()), sender(org))
        await enqueue(
            session,
            OutgoingMessage(
                channel=channel,
                recipient=seal_address(lc.cipher, contact.value),
                template=template,
                lang=lang,
                context=dict(ctx),
                recipient_ref=f"interest:{iid}",
                organisation_id=org.id,
                coordinator=_coordinator(lc, org),
                attachments=files,
                dedupe_key=f"{dedupe}:{person_key(lc, iid)}",
            ),
            now=now,
        )
    return set(found)


async def to_coordinator(
    session: AsyncSession,
    lc: Lifecycle,
    email: str,
    org_id: uuid.UUID,
    context: Mapping[Any, Any],
    *,
    dedupe_key: str,
    now: datetime,
    template: str = "coordinator_alert",
) -> None:
    await enqueue(
        session,
        OutgoingMessage(
            channel=Channel.EMAIL,
            recipient=seal_address(lc.cipher, email),
            template=template,
            lang="nb",
            context=dict(context),
            recipient_ref=None,
            organisation_id=org_id,
            dedupe_key=dedupe_key,
        ),
        now=now,
    )


async def group_alert(
    session: AsyncSession, lc: Lifecycle, group: Group, org: pool.OrganisationInfo
) -> dict[str, Any]:
    """What every coordinator message about a group says: which group (theme, weekday, start),
    its full id and where to see it; plus how many facilitators said no and how many did not
    answer, so "no facilitator" can be told apart from "nobody asked answered"."""
    counts: dict[str, int] = dict(
        (
            await session.execute(
                select(facilitator_offer.c.status, func.count())
                .where(facilitator_offer.c.group_id == group.id)
                .group_by(facilitator_offer.c.status)
            )
        ).all()
    )
    return {
        "reference": reference(group.id),
        "group_id": str(group.id),
        "group_name": await group_name(session, group, org, "nb"),
        "group_url": group_url(lc, group.id),
        "declined": int(counts.get("declined", 0)),
        "no_answer": int(counts.get("expired", 0)),
    }


def person_key(lc: Lifecycle, interest_id: uuid.UUID) -> str:
    """A keyed hash of the interest id for dedupe keys. Outbox rows outlive the person (the
    scrubbed row stays for delivery statistics): with the raw id in the key, a deleted
    registration would still be joinable to its messages; the HMAC is not (issue 8)."""
    return hmac.new(lc.link_secret.encode(), interest_id.bytes, hashlib.sha256).hexdigest()[:32]


def _coordinator(lc: Lifecycle, org: pool.OrganisationInfo) -> bytes | None:
    return seal_address(lc.cipher, org.coordinator_email) if org.coordinator_email else None


def reference(group_id: uuid.UUID) -> str:
    """A short, non-identifying name of a group for coordinators (first 8 hex digits)."""
    return group_id.hex[:8]


async def message_with_link(
    session: AsyncSession,
    lc: Lifecycle,
    *,
    interest_id: uuid.UUID,
    language: str | None,
    contact: pool.Contact,
    org: pool.OrganisationInfo | None,
    template: str,
    url: str,
    respond_by: datetime,
    dedupe_key: str,
    copy_coordinator: bool = False,
    now: datetime,
) -> None:
    """One message with one signed link to a waiting person (a change that would place them,
    the lapse notice): e-mail or SMS as they left it, in the language they signed up in, from
    their organisation; it names no theme (``org_name``, ``accept_url``, ``respond_by``)."""
    channel = Channel.EMAIL if contact.kind == "email" else Channel.SMS
    coordinator = _coordinator(lc, org) if copy_coordinator and org else None
    await enqueue(
        session,
        OutgoingMessage(
            channel=channel,
            recipient=seal_address(lc.cipher, contact.value),
            template=template,
            lang=language if language in ("nb", "nn", "en") else "nb",
            context={
                "org_name": org.name if org else "Samhjelp",
                "accept_url": url,
                "respond_by": respond_by,
            },
            recipient_ref=f"interest:{interest_id}",
            organisation_id=org.id if org else None,
            coordinator=coordinator,
            attachments=(sender(org),) if org and channel is Channel.EMAIL else (),
            dedupe_key=dedupe_key,
        ),
        now=now,
    )
