"""What a facilitator is asked to start: the facts of one group, in the facilitator's language.

The start notice (e-mail) and the accept page must say the same things — theme or
cross-problem, how many people, the language, the agreed weekday and time of day, the area,
digital or in person, and the answer deadline — so both read them from :func:`group_brief`.

A group's slot is ``"<weekday>-<part of day>"`` (``"tue-evening"``). The parts of day are
turned into clock windows here (:data:`PART_WINDOWS`, Europe/Oslo), which is also what the
meeting form uses to offer the next dates on the slot and to tell whether another time differs
from what people chose (:func:`on_slot`). The wording comes from the pages' gettext catalogues
(``src/intake/web/locale``), weekday names from CLDR through Babel.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from groups.config import LifecycleConfig, fill_wait_for, meetings_for
from groups.tables import facilitator_offer
from groups.timing import meets_from
from intake import pool
from intake.reference import CROSS_PROBLEM
from intake.schemas import PARTS_OF_DAY, WEEKDAYS
from intake.tables import interest, municipality
from intake.web.i18n import DEFAULT, LANGS, Translator
from intake.web.views import theme_names
from matching.explain import Locale, language_name
from matching.tables import ACTIVE_MEMBER_STATES, group_member, start_group

OSLO = ZoneInfo("Europe/Oslo")

#: The clock window of each part of day (local time, end exclusive). Participants tick
#: "evening" on the sign-up form; this is what the service takes that to mean.
PART_WINDOWS: dict[str, tuple[time, time]] = {
    "morning": (time(8, 0), time(12, 0)),
    "daytime": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(22, 0)),
}
#: Where the meeting form puts a first meeting on the slot unless the facilitator changes it.
DEFAULT_START: dict[str, time] = {
    "morning": time(10, 0),
    "daytime": time(13, 0),
    "evening": time(18, 0),
}
#: The first meeting is at least this far ahead, so invitations can be answered in time
#: (the reply deadline ends at least 24 hours before the meeting).
MIN_LEAD = timedelta(hours=48)


def page_lang(lang: str | None) -> str:
    """A group's or person's language as a page language: nb, nn or en (``no`` → nb)."""
    if lang in LANGS:
        return str(lang)
    return DEFAULT


def split_slot(slot: str) -> tuple[str, str]:
    """``"tue-evening"`` → ``("tue", "evening")``; ValueError for anything else."""
    day, _, part = slot.partition("-")
    if day not in WEEKDAYS or part not in PARTS_OF_DAY:
        raise ValueError(f"not a slot: {slot!r}")
    return day, part


def on_slot(slot: str, starts_at: datetime) -> bool:
    """Whether a meeting start is on the group's weekday, inside its part of day (Oslo time).

    The meeting form asks for an explicit confirmation when this is False, and the invitation
    then says the time differs from what people chose.
    """
    day, part = split_slot(slot)
    local = starts_at.astimezone(OSLO)
    begin, end = PART_WINDOWS[part]
    return WEEKDAYS[local.weekday()] == day and begin <= local.time() < end


def next_slot_starts(
    slot: str, *, now: datetime, count: int = 4, lead: timedelta = MIN_LEAD
) -> list[datetime]:
    """The next ``count`` dates on the slot at the part of day's default start (aware,
    Europe/Oslo), none earlier than ``now + lead``."""
    day, part = split_slot(slot)
    earliest = now + lead
    local: date = earliest.astimezone(OSLO).date()
    local += timedelta(days=(WEEKDAYS.index(day) - local.weekday()) % 7)
    out: list[datetime] = []
    while len(out) < count:
        start = datetime.combine(local, DEFAULT_START[part], tzinfo=OSLO)
        if start >= earliest:
            out.append(start)
        local += timedelta(days=7)
    return out


def weekday_name(day: str, lang: str) -> str:
    """A weekday key in the page language, from CLDR (``tue`` → tirsdag / tysdag / Tuesday)."""
    monday = date(2024, 1, 1)  # a Monday
    return format_date(monday + timedelta(days=WEEKDAYS.index(day)), "EEEE", locale=lang)


def part_name(part: str, t: Translator) -> str:
    names = {
        "morning": t.gettext("morning"),
        "daytime": t.gettext("daytime"),
        "evening": t.gettext("evening"),
    }
    return names[part]


def window_text(part: str) -> str:
    begin, end = PART_WINDOWS[part]
    return f"{begin:%H:%M}–{end:%H:%M}"


def slot_text(slot: str, lang: str) -> str:
    """``"tue-evening"`` → "tirsdag kveld (17:00–22:00)" / "Tuesday evening (17:00–22:00)"."""
    day, part = split_slot(slot)
    t = Translator(page_lang(lang))
    return t.gettext(
        "%(weekday)s %(part)s (%(window)s)",
        weekday=weekday_name(day, t.lang),
        part=part_name(part, t),
        window=window_text(part),
    )


def when_text(at: datetime, lang: str) -> str:
    """A meeting time as people read it: "tirsdag 01.12.2026 kl. 18:00" (Oslo time)."""
    lang = page_lang(lang)
    pattern = "EEEE d MMMM yyyy 'at' HH:mm" if lang == "en" else "EEEE dd.MM.yyyy 'kl.' HH:mm"
    return format_datetime(at, pattern, tzinfo=OSLO, locale=lang)


@dataclass(frozen=True, slots=True)
class GroupBrief:
    """The facts a facilitator needs to decide on a start notice, worded in ``lang``.

    Codes (``theme``, ``language``, ``slot``…) are there for code; the ``*_name``/``*_text``
    fields are ready to show. ``respond_by`` is the deadline of the pending start notice (None
    when no question stands any more).
    """

    group_id: uuid.UUID
    reference: str  # first 8 hex digits of the id, as coordinators see it
    lang: str
    theme: str | None  # None: across problems (på tvers)
    theme_name: str
    cross_problem: bool
    participants: int
    joined_later: int  # of ``participants``: joined after the group was proposed (matching.fill)
    language: str
    language_name: str
    slot: str
    weekday: str
    weekday_name: str
    part_of_day: str
    part_name: str
    window: str  # "17:00–22:00"
    slot_text: str  # "tirsdag kveld (17:00–22:00)"
    organisation: str
    area: str  # the organisation and the participants' municipalities
    digital: bool
    facilitated_meetings: int
    respond_by: datetime | None
    respond_by_text: str | None
    #: The earliest first meeting while the group is at its smallest size (None: no wait).
    meets_from: datetime | None = None


async def group_brief(
    session: AsyncSession, group_id: uuid.UUID, *, lang: str, config: LifecycleConfig
) -> GroupBrief:
    """Load the brief of one group; LookupError if the group does not exist.

    ``config`` is the life cycle's injected configuration: the number of facilitated meetings
    is the organisation's rule (``facilitated_meetings``) or the configured default.
    """
    lang = page_lang(lang)
    t = Translator(lang)
    group = (
        (await session.execute(select(start_group).where(start_group.c.id == group_id)))
        .mappings()
        .first()
    )
    if group is None:
        raise LookupError(f"no group {group_id}")
    org = (await pool.organisations(session, [group["organisation_id"]]))[group["organisation_id"]]
    counted = await session.execute(
        select(
            func.count(),
            func.array_agg(func.distinct(municipality.c.name)),
            func.count().filter(group_member.c.joined_at > group["created_at"]),
        )
        .select_from(group_member)
        .join(interest, interest.c.id == group_member.c.interest_id)
        .join(municipality, municipality.c.number == interest.c.municipality_number, isouter=True)
        .where(
            group_member.c.group_id == group_id,
            group_member.c.active,
            group_member.c.state.in_(ACTIVE_MEMBER_STATES),
        )
    )
    participants, places, joined_later = counted.one()
    places = sorted(p for p in (places or []) if p)
    respond_by = (
        await session.execute(
            select(func.max(facilitator_offer.c.respond_by)).where(
                facilitator_offer.c.group_id == group_id, facilitator_offer.c.status == "pending"
            )
        )
    ).scalar_one()
    day, part = split_slot(group["slot"])
    theme = group["theme"]
    names = theme_names(lang)
    area = org.name + (f" – {', '.join(places)}" if places else "")
    return GroupBrief(
        group_id=group_id,
        reference=group_id.hex[:8],
        lang=lang,
        theme=theme,
        theme_name=names[CROSS_PROBLEM.slug] if theme is None else names.get(theme, theme),
        cross_problem=theme is None,
        participants=int(participants or 0),
        joined_later=int(joined_later or 0),
        language=group["language"],
        language_name=language_name(group["language"], cast(Locale, lang)),
        slot=group["slot"],
        weekday=day,
        weekday_name=weekday_name(day, lang),
        part_of_day=part,
        part_name=part_name(part, t),
        window=window_text(part),
        slot_text=slot_text(group["slot"], lang),
        organisation=org.name,
        area=area,
        digital=bool(group["digital"]),
        facilitated_meetings=meetings_for(org.rules, config),
        meets_from=meets_from(
            group["created_at"],
            int(participants or 0),
            int((group["rules"] or {}).get("min_size", 4)),
            fill_wait_for(org.rules, config),
        ),
        respond_by=respond_by,
        respond_by_text=when_text(respond_by, lang) if respond_by is not None else None,
    )
