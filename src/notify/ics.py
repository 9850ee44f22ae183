"""Calendar files (.ics) for group meetings.

A meeting keeps one UID for its whole life, so calendar programs update or remove the entry they
already have instead of adding a second one. ``SEQUENCE`` says which version is newest: the
caller stores a revision number per meeting and bumps it on every change (time, place,
cancellation). Times are written in Europe/Oslo with a VTIMEZONE, which is what Outlook and Apple
Calendar need to show the right hour across daylight-saving changes.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from notify.model import MESSAGE_ID_DOMAIN, Attachment

OSLO = ZoneInfo("Europe/Oslo")
PRODID = "-//samhjelp//meetings//NO"


class CalendarMethod(enum.StrEnum):
    """iTIP method: REQUEST for invitations and updates, CANCEL for cancellations."""

    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


@dataclass(frozen=True, slots=True)
class MeetingEvent:
    """One meeting as a calendar entry.

    ``summary`` and ``description`` appear on lock screens and shared calendars, so callers keep
    them neutral ("Gruppemøte") and never name the theme.
    """

    meeting_id: uuid.UUID
    start: datetime
    duration: timedelta
    summary: str
    location: str
    sequence: int = 0
    description: str = ""
    organizer_email: str | None = None


def meeting_uid(meeting_id: uuid.UUID) -> str:
    """The stable calendar UID of a meeting."""
    return f"meeting-{meeting_id}@{MESSAGE_ID_DOMAIN}"


def meeting_calendar(event: MeetingEvent, *, method: CalendarMethod, now: datetime) -> str:
    """Build the VCALENDAR text for ``event``.

    Args:
        event: the meeting; ``start`` must be timezone-aware and is converted to Oslo time.
        method: REQUEST (new or changed) or CANCEL.
        now: the DTSTAMP, i.e. when this version of the entry was produced.
    """
    if event.start.tzinfo is None or now.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    if event.sequence < 0:
        raise ValueError("SEQUENCE cannot be negative")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", str(method))
    vevent = Event()
    vevent.add("uid", meeting_uid(event.meeting_id))
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", now.astimezone(ZoneInfo("UTC")))
    start = event.start.astimezone(OSLO)
    vevent.add("dtstart", start)
    vevent.add("dtend", start + event.duration)
    vevent.add("summary", event.summary)
    vevent.add("location", event.location)
    if event.description:
        vevent.add("description", event.description)
    if event.organizer_email:
        vevent.add("organizer", vCalAddress(f"mailto:{event.organizer_email}"))
    if method is CalendarMethod.CANCEL:
        vevent.add("status", "CANCELLED")
    else:
        vevent.add("status", "CONFIRMED")
        vevent.add("transp", vText("OPAQUE"))
    cal.add_component(vevent)
    # Only the transitions around the meeting: a 70-year VTIMEZONE bloats every invitation.
    cal.add_missing_timezones(
        first_date=date(start.year - 1, 1, 1), last_date=date(start.year + 2, 1, 1)
    )
    ical: bytes = cal.to_ical()
    return ical.decode("utf-8")


def meeting_attachment(event: MeetingEvent, *, method: CalendarMethod, now: datetime) -> Attachment:
    """The calendar file as an e-mail attachment (``text/calendar; method=…``)."""
    name = "avlyst.ics" if method is CalendarMethod.CANCEL else "mote.ics"
    return Attachment(
        filename=name,
        content_type=f"text/calendar; method={method}",
        content=meeting_calendar(event, method=method, now=now),
    )
