"""Calendar files: stable UID, increasing SEQUENCE, REQUEST/CANCEL, Oslo local time."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from notify.ics import (
    CalendarMethod,
    MeetingEvent,
    Party,
    meeting_attachment,
    meeting_calendar,
    meetings_calendar,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MEETING = MeetingEvent(
    meeting_id=uuid.UUID("8efb8060-4b02-4afc-ba61-6ca9970752c2"),
    start=datetime(2026, 12, 1, 17, 0, tzinfo=UTC),
    duration=timedelta(hours=2),
    summary="Gruppemøte",
    location="Frivilligsentralen, Storgata 1",
)


def _event(text: str) -> tuple[Calendar, object]:
    cal = Calendar.from_ical(text)
    [event] = cal.walk("VEVENT")
    return cal, event


def test_request_has_uid_sequence_and_oslo_time() -> None:
    cal, event = _event(meeting_calendar(MEETING, method=CalendarMethod.REQUEST, now=NOW))
    assert cal["METHOD"] == "REQUEST"
    assert str(event["UID"]) == "meeting-8efb8060-4b02-4afc-ba61-6ca9970752c2@samhjelp"  # type: ignore[index]
    assert event["SEQUENCE"] == 0  # type: ignore[index]
    start = event["DTSTART"].dt  # type: ignore[index]
    assert str(start.tzinfo) == "Europe/Oslo"
    assert (start.hour, start.minute) == (18, 0)
    assert cal.walk("VTIMEZONE"), "Outlook needs the VTIMEZONE"


def test_summer_time_is_two_hours_ahead() -> None:
    summer = dataclasses.replace(MEETING, start=datetime(2027, 6, 1, 16, 0, tzinfo=UTC))
    _, event = _event(meeting_calendar(summer, method=CalendarMethod.REQUEST, now=NOW))
    assert event["DTSTART"].dt.hour == 18  # type: ignore[index]


def test_update_keeps_uid_and_raises_sequence() -> None:
    moved = dataclasses.replace(MEETING, start=MEETING.start + timedelta(days=1), sequence=1)
    _, first = _event(meeting_calendar(MEETING, method=CalendarMethod.REQUEST, now=NOW))
    _, second = _event(meeting_calendar(moved, method=CalendarMethod.REQUEST, now=NOW))
    assert first["UID"] == second["UID"]  # type: ignore[index]
    assert second["SEQUENCE"] > first["SEQUENCE"]  # type: ignore[index]


def test_cancel() -> None:
    cancelled = dataclasses.replace(MEETING, sequence=2)
    cal, event = _event(meeting_calendar(cancelled, method=CalendarMethod.CANCEL, now=NOW))
    assert cal["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"  # type: ignore[index]
    assert event["SEQUENCE"] == 2  # type: ignore[index]


def test_attachment_content_type_names_the_method() -> None:
    attachment = meeting_attachment(MEETING, method=CalendarMethod.CANCEL, now=NOW)
    assert attachment.content_type == "text/calendar; method=CANCEL"
    assert attachment.filename.endswith(".ics")
    assert "METHOD:CANCEL" in attachment.content


def test_naive_start_is_refused() -> None:
    naive = dataclasses.replace(MEETING, start=datetime(2026, 12, 1, 18, 0))
    with pytest.raises(ValueError, match="timezone"):
        meeting_calendar(naive, method=CalendarMethod.REQUEST, now=NOW)


ORGANISATION = Party("post@linkbergen.no", "LINK Bergen og omegn")
PERSON = Party("p0@example.no")


def test_request_carries_organizer_and_attendee_rfc5546() -> None:
    invited = dataclasses.replace(MEETING, organizer=ORGANISATION, attendees=(PERSON,))
    _, event = _event(meeting_calendar(invited, method=CalendarMethod.REQUEST, now=NOW))
    organizer = event["ORGANIZER"]  # type: ignore[index]
    assert str(organizer) == "mailto:post@linkbergen.no"
    assert organizer.params["CN"] == "LINK Bergen og omegn"
    attendee = event["ATTENDEE"]  # type: ignore[index]
    assert str(attendee) == "mailto:p0@example.no"
    assert attendee.params["PARTSTAT"] == "NEEDS-ACTION" and attendee.params["RSVP"] == "FALSE"


def test_one_file_covers_every_meeting() -> None:
    weekly = [
        dataclasses.replace(
            MEETING,
            meeting_id=uuid.uuid4(),
            start=MEETING.start + timedelta(weeks=k),
            organizer=ORGANISATION,
            attendees=(PERSON,),
        )
        for k in range(3)
    ]
    cal = Calendar.from_ical(meetings_calendar(weekly, method=CalendarMethod.REQUEST, now=NOW))
    events = cal.walk("VEVENT")
    assert [e["DTSTART"].dt.day for e in events] == [1, 8, 15]
    assert len({str(e["UID"]) for e in events}) == 3
    assert all("ORGANIZER" in e and "ATTENDEE" in e for e in events)


def test_cancel_of_several_meetings_keeps_organizer_and_attendee() -> None:
    leaving = [
        dataclasses.replace(
            MEETING,
            meeting_id=uuid.uuid4(),
            sequence=1,
            organizer=ORGANISATION,
            attendees=(PERSON,),
        )
        for _ in range(2)
    ]
    attachment = meeting_attachment(leaving, method=CalendarMethod.CANCEL, now=NOW)
    cal = Calendar.from_ical(attachment.content)
    assert cal["METHOD"] == "CANCEL"
    for event in cal.walk("VEVENT"):
        assert event["STATUS"] == "CANCELLED" and "ORGANIZER" in event and "ATTENDEE" in event


def test_an_empty_calendar_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        meetings_calendar([], method=CalendarMethod.REQUEST, now=NOW)
