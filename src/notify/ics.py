"""Calendar files (.ics) for group meetings, as iTIP (RFC 5546) REQUEST and CANCEL.

A meeting keeps one UID for its whole life, so calendar programs update or remove the entry they
already have instead of adding a second one. ``SEQUENCE`` says which version is newest: the
caller stores a revision number per meeting and bumps it on every change (time, place,
cancellation). Times are written in Europe/Oslo with a VTIMEZONE, which is what Outlook and Apple
Calendar need to show the right hour across daylight-saving changes.

RFC 5546 requires ORGANIZER and at least one ATTENDEE in a REQUEST and a CANCEL; without them
Outlook and Gmail show the file as a bare event, or refuse the cancellation, instead of
updating the entry they have. One file carries every facilitated meeting (one VEVENT each), so a
participant's calendar holds all of them after one invitation, and a leave cancels all of them.
Answers are given through the message's links, not by calendar replies, so ``RSVP=FALSE``.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from notify.model import MESSAGE_ID_DOMAIN, Attachment

OSLO = ZoneInfo("Europe/Oslo")
PRODID = "-//samhjelp//meetings//NO"


class CalendarMethod(enum.StrEnum):
    """iTIP method: REQUEST for invitations and updates, CANCEL for cancellations."""

    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


class PartStat(enum.StrEnum):
    """An attendee's participation status as the calendar should show it."""

    NEEDS_ACTION = "NEEDS-ACTION"  # invited, not yet answered
    ACCEPTED = "ACCEPTED"  # said yes (or: the facilitator, who runs the meeting)
    DECLINED = "DECLINED"  # said "I can't come this time"


@dataclass(frozen=True, slots=True)
class Party:
    """An ORGANIZER or ATTENDEE: an e-mail address and an optional display name (CN)."""

    email: str
    name: str = ""
    partstat: PartStat = PartStat.NEEDS_ACTION

    def address(self, *, attendee: bool) -> vCalAddress:
        value = vCalAddress(f"mailto:{self.email}")
        if self.name:
            value.params["CN"] = self.name
        if attendee:
            value.params["CUTYPE"] = "INDIVIDUAL"
            value.params["ROLE"] = "REQ-PARTICIPANT"
            value.params["PARTSTAT"] = str(self.partstat)
            value.params["RSVP"] = "FALSE"
        return value


@dataclass(frozen=True, slots=True)
class MeetingEvent:
    """One meeting as a calendar entry.

    ``summary`` and ``description`` appear on lock screens and shared calendars, so callers keep
    them neutral ("Gruppemøte") and never name the theme. ``organizer`` is the organisation
    (whom to write to); ``attendees`` the person the file is for (and nobody else: a
    participant's file never lists the other participants).
    """

    meeting_id: uuid.UUID
    start: datetime
    duration: timedelta
    summary: str
    location: str
    sequence: int = 0
    description: str = ""
    organizer: Party | None = None
    attendees: tuple[Party, ...] = ()


def meeting_uid(meeting_id: uuid.UUID) -> str:
    """The stable calendar UID of a meeting."""
    return f"meeting-{meeting_id}@{MESSAGE_ID_DOMAIN}"


def _vevent(event: MeetingEvent, *, method: CalendarMethod, now: datetime) -> Event:
    if event.start.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    if event.sequence < 0:
        raise ValueError("SEQUENCE cannot be negative")
    vevent = Event()
    vevent.add("uid", meeting_uid(event.meeting_id))
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", now.astimezone(UTC))
    start = event.start.astimezone(OSLO)
    vevent.add("dtstart", start)
    vevent.add("dtend", start + event.duration)
    vevent.add("summary", event.summary)
    vevent.add("location", event.location)
    if event.description:
        vevent.add("description", event.description)
    if event.organizer is not None:
        vevent.add("organizer", event.organizer.address(attendee=False))
    for attendee in event.attendees:
        vevent.add("attendee", attendee.address(attendee=True))
    if method is CalendarMethod.CANCEL:
        vevent.add("status", "CANCELLED")
    else:
        vevent.add("status", "CONFIRMED")
        vevent.add("transp", vText("OPAQUE"))
    return vevent


def meetings_calendar(
    events: Sequence[MeetingEvent], *, method: CalendarMethod, now: datetime
) -> str:
    """Build one VCALENDAR holding every meeting in ``events`` (one VEVENT each).

    Args:
        events: the meetings; each ``start`` must be timezone-aware and is written in Oslo time.
        method: REQUEST (new or changed) or CANCEL.
        now: the DTSTAMP, i.e. when this version of the entries was produced.

    Raises:
        ValueError: no events, a naive time, or a negative SEQUENCE.
    """
    if not events:
        raise ValueError("a calendar file needs at least one meeting")
    if now.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", str(method))
    for event in events:
        cal.add_component(_vevent(event, method=method, now=now))
    years = [e.start.astimezone(OSLO).year for e in events]
    # Only the transitions around the meetings: a 70-year VTIMEZONE bloats every invitation.
    cal.add_missing_timezones(
        first_date=date(min(years) - 1, 1, 1), last_date=date(max(years) + 2, 1, 1)
    )
    ical: bytes = cal.to_ical()
    return ical.decode("utf-8")


def meeting_calendar(event: MeetingEvent, *, method: CalendarMethod, now: datetime) -> str:
    """The VCALENDAR text of one meeting (see :func:`meetings_calendar`)."""
    return meetings_calendar([event], method=method, now=now)


def meeting_attachment(
    event: MeetingEvent | Sequence[MeetingEvent], *, method: CalendarMethod, now: datetime
) -> Attachment:
    """The calendar file as an e-mail attachment (``text/calendar; method=…``).

    Takes one meeting or several; several go into one file, which every calendar program
    imports as a whole.
    """
    events = [event] if isinstance(event, MeetingEvent) else list(event)
    name = "avlyst.ics" if method is CalendarMethod.CANCEL else "mote.ics"
    return Attachment(
        filename=name,
        content_type=f"text/calendar; method={method}",
        content=meetings_calendar(events, method=method, now=now),
    )
