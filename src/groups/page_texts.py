"""The words of the link pages that come from code (titles, questions, buttons), translated.

Message ids are English; the catalogues are the participant pages' (``src/intake/web/locale``),
so a wording change is a catalogue change. ``babel.cfg`` extracts from this module.
"""

from __future__ import annotations

from groups.links import LinkProblem, Purpose
from intake.web.i18n import Translator


def problems(t: Translator) -> dict[LinkProblem, tuple[int, str, str]]:
    return {
        LinkProblem.FORGED: (
            400,
            t.gettext("The link does not work"),
            t.gettext(
                "The link is not valid. Perhaps it was cut off when it was copied? Try opening "
                "it directly from the message you got."
            ),
        ),
        LinkProblem.EXPIRED: (
            410,
            t.gettext("The link is too old"),
            t.gettext(
                "The time to answer through this link has run out, so it no longer works. You "
                "do not need to do anything: we have moved on, and you will get a new message "
                "if we need an answer from you."
            ),
        ),
        LinkProblem.USED: (
            410,
            t.gettext("The link has already been used"),
            t.gettext(
                "This link has already been used, and each link works only once. Your answer "
                "is registered."
            ),
        ),
    }


def ask(t: Translator, purpose: Purpose) -> tuple[str, list[str], str]:
    """Title, paragraphs and button of a page that asks for one click."""
    texts = {
        Purpose.OFFER_ACCEPT: (
            t.gettext("Start a new group?"),
            [
                t.gettext(
                    "You are asked to be the facilitator of a new self-help group. You contact "
                    "the participants, find a room and take part in the first meetings, until "
                    "the group runs on its own."
                )
            ],
            t.gettext("Yes, I can start the group"),
        ),
        Purpose.OFFER_DECLINE: (
            t.gettext("Not this time?"),
            [t.gettext("Thank you for answering. We will ask the next facilitator.")],
            t.gettext("No, not this time"),
        ),
        Purpose.INVITE_ACCEPT: (
            t.gettext("Are you coming to the first meeting?"),
            [t.gettext("Confirm that you are coming to the group's first meeting.")],
            t.gettext("Yes, I am coming"),
        ),
        Purpose.INVITE_DECLINE: (
            t.gettext("Can you not come?"),
            [
                t.gettext(
                    "Then we give the place to someone else. You are back in the queue with "
                    "the same waiting time."
                )
            ],
            t.gettext("No, I cannot"),
        ),
        Purpose.PLACE_ACCEPT: (
            t.gettext("Do you want the place?"),
            [t.gettext("There is a free place for you in a self-help group.")],
            t.gettext("Yes please, I want the place"),
        ),
        Purpose.PLACE_DECLINE: (
            t.gettext("No thanks to the place?"),
            [
                t.gettext(
                    "Then we give the place to someone else. You keep your place in the queue "
                    "with the same waiting time."
                )
            ],
            t.gettext("No thanks"),
        ),
    }
    return texts[purpose]


def report(t: Translator, purpose: Purpose) -> tuple[str, str]:
    texts = {
        Purpose.CHECKIN: (
            t.gettext("How did the meeting go?"),
            t.gettext("Tell us briefly how the meeting went."),
        ),
        Purpose.FOLLOWUP: (
            t.gettext("Following up the group"),
            t.gettext("Register that you have followed up the group (a visit or a call)."),
        ),
        Purpose.REVIEW: (
            t.gettext("Half a year with the group"),
            t.gettext("Does the group still meet?"),
        ),
    }
    return texts[purpose]
