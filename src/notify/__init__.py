"""notify: the transactional outbox, message channels, templates and calendar files.

Other packages use only what is exported here: build an :class:`OutgoingMessage`, call
:func:`enqueue` inside the transaction that causes the message, and let the scheduled
:func:`deliver_due` job send it. See docs/notify.md for the delivery guarantee.
"""

from notify.delivery import DeliveryPolicy, DeliveryReport, backoff_delay, deliver_due
from notify.ics import (
    CalendarMethod,
    MeetingEvent,
    PartStat,
    Party,
    meeting_attachment,
    meeting_calendar,
    meeting_uid,
    meetings_calendar,
)
from notify.model import (
    Attachment,
    Channel,
    DeliveryError,
    Language,
    MessageContent,
    MessageStatus,
    Notifier,
    OutgoingMessage,
    RenderedMessage,
    Sender,
    open_address,
    seal_address,
)
from notify.outbox import (
    MessageSummary,
    enqueue,
    erase_recipient,
    list_messages,
    retry_failed,
    scrub_delivered,
)
from notify.render import TEMPLATES, UnknownTemplateError, render

__all__ = [
    "TEMPLATES",
    "Attachment",
    "CalendarMethod",
    "Channel",
    "DeliveryError",
    "DeliveryPolicy",
    "DeliveryReport",
    "Language",
    "MeetingEvent",
    "MessageContent",
    "MessageStatus",
    "MessageSummary",
    "Notifier",
    "OutgoingMessage",
    "PartStat",
    "Party",
    "RenderedMessage",
    "Sender",
    "UnknownTemplateError",
    "backoff_delay",
    "deliver_due",
    "enqueue",
    "erase_recipient",
    "list_messages",
    "meeting_attachment",
    "meeting_calendar",
    "meeting_uid",
    "meetings_calendar",
    "open_address",
    "render",
    "retry_failed",
    "scrub_delivered",
    "seal_address",
]
