"""Group states, member states, events and broken rules in the staff member's language.

The rule checker (:mod:`matching.check`) speaks plain English lines for tests and logs; a
staff member sees each line as a sentence in their language that names the rule and the
numbers ("The group would have 3 people; a group has 4 to 8."). A line this module does not
know is shown as the checker wrote it, never dropped.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from groups.brief import slot_text
from intake.reference import LANGUAGES
from intake.web import views
from intake.web.i18n import Translator
from matching.states import GroupState, MemberState

# A slot's words depend on the slot and the language only; working them out through CLDR
# costs ~0.4 ms, and a page of 50 groups asks for them 50 times.
_slot_text = functools.lru_cache(maxsize=512)(slot_text)

#: The order groups are listed and filtered in (the life cycle's order).
STATE_ORDER: tuple[GroupState, ...] = tuple(GroupState)
_GROUP = frozenset(s.value for s in GroupState)
_MEMBER = frozenset(s.value for s in MemberState)


class GroupWords:
    """Every label the group and facilitator pages need, in one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.t = Translator(lang)
        _ = self.t.gettext
        self.states = {
            GroupState.PROPOSED: _("Proposed – finding a facilitator"),
            GroupState.ACCEPTED: _("Accepted – waiting for a first meeting"),
            GroupState.SCHEDULED: _("Invited – meetings planned"),
            GroupState.RUNNING: _("Running"),
            GroupState.SELF_RUNNING: _("Running on its own"),
            GroupState.LAPSED: _("Lapsed"),
            GroupState.CLOSED: _("Closed"),
        }
        self.members = {
            MemberState.PROPOSED: _("In the proposal"),
            MemberState.OFFERED: _("Offered a place, no answer yet"),
            MemberState.INVITED: _("Invited, no answer yet"),
            MemberState.INFORMED: _("Invited on their status page"),
            MemberState.CONFIRMED: _("Said yes"),
            MemberState.DECLINED: _("Said no"),
            MemberState.EXPIRED: _("Did not answer in time"),
            MemberState.RETURNED: _("Back on the waiting list (group lapsed)"),
            MemberState.CLOSED: _("Group closed"),
            MemberState.LEFT: _("Left the group"),
            MemberState.WITHDRAWN: _("Withdrew"),
        }
        self.offers = {
            "pending": _("Asked, no answer yet"),
            "accepted": _("Said yes"),
            "declined": _("Said no"),
            "expired": _("Did not answer in time"),
            "withdrawn": _("Withdrawn"),
        }
        self.meetings = {"planned": _("Planned"), "held": _("Held"), "cancelled": _("Cancelled")}
        self.events = {
            "formed": _("The group was formed"),
            "member_joined": _("A waiting person joined the group before its first meeting"),
            "start_notice_sent": _("Start notice sent to a facilitator"),
            "facilitator_accepted": _("The facilitator said yes"),
            "facilitator_declined": _("The facilitator said no"),
            "facilitator_no_answer": _("The facilitator did not answer in time"),
            "escalated_to_coordinator": _("The organisation's coordinator was told"),
            "escalated_to_region": _("The region's coordinator was told"),
            "meeting_time_reminder_sent": _("The facilitator was reminded to set a time"),
            "meeting_time_escalated": _("No first meeting set: the coordinator was told"),
            "meetings_planned": _("Meetings planned and participants invited"),
            "meeting_off_slot_confirmed": _("A meeting time off the chosen slot was confirmed"),
            "place_offered": _("A free place was offered to a waiting person"),
            "member_confirmed": _("A participant said yes"),
            "member_declined": _("A participant said no"),
            "member_no_reply": _("A participant did not answer in time"),
            "member_left": _("A participant left the group"),
            "member_withdrew": _("A participant withdrew"),
            "member_added": _("Staff added a waiting person"),
            "started": _("The first meeting began"),
            "meeting_held": _("A meeting was held"),
            "checkin_note_sent": _("The facilitator left a note to follow up"),
            "self_running": _("The group runs on its own"),
            "lapsed": _("The group lapsed"),
            "closed": _("The group was closed"),
            "reopened": _("Staff re-opened the group"),
            "people_erased": _("Participants' contact details were erased"),
            "roster_viewed": _("The facilitator looked at the participant list"),
        }
        self.themes = views.theme_names(lang)
        common, rest = views.language_choices(lang)
        self.languages = dict(common + rest)
        self.refusals = {
            "state": _("This cannot be done in the group's present state."),
            "not_waiting": _("Someone you chose is no longer waiting. Choose again."),
            "no_facilitator": _(
                "No facilitator of the organisation fits this group now (themes, languages, "
                "online, free starts, not paused). Add or edit a facilitator first."
            ),
            "too_late": _("It is too close to the first meeting for the person to answer in time."),
            "rules": _("The group would break the group rules:"),
        }

    def confirmation(self, key: str) -> str | None:
        """The short message after an action (the ``?ok=`` of the redirect)."""
        _ = self.t.gettext
        return {
            "asked": _("The start notice has been sent to the facilitator."),
            "closed": _("The group is closed. Members who had not met went back to the list."),
            "reopened": _("The group is open again and a facilitator is being asked."),
            "added": _("The person has been added to the group."),
            "offered": _("The person has been offered the place and has been told."),
            "formed": _("The group has been formed and the start notice sent."),
        }.get(key)

    def theme(self, slug: str | None) -> str:
        if slug is None:
            return self.themes.get("pa-tvers", "across")
        return self.themes.get(slug, slug)

    def language(self, code: str) -> str:
        return self.languages.get(code, LANGUAGES.get(code, code))

    def slot(self, slot: str) -> str:
        return _slot_text(slot, self.lang)

    def state(self, state: str) -> str:
        return self.states.get(GroupState(state), state) if state in _GROUP else state

    def member(self, state: str) -> str:
        return self.members.get(MemberState(state), state) if state in _MEMBER else state

    def actor(self, actor: str) -> str:
        """Who did it, without naming anyone: the job, the life cycle, a role."""
        _ = self.t.gettext
        kind = actor.split(":", 1)[0]
        return {
            "matching": _("the matching job"),
            "lifecycle": _("the system"),
            "staff": _("staff"),
            "facilitator": _("the facilitator"),
            "participant": _("a participant"),
        }.get(kind, _("the system"))

    def event(self, what: str) -> str:
        return self.events.get(what, what.replace("_", " "))

    def rule(self, line: str) -> str:
        """One line of :func:`matching.check.violations` as a sentence naming the rule."""
        for pattern, word in _rule_patterns(self.t):
            found = re.search(pattern, line)
            if found:
                return word(found)
        return line


def _rule_patterns(t: Translator) -> list[tuple[str, Callable[[re.Match[str]], str]]]:
    _ = t.gettext
    return [
        (
            r"size (\d+) outside (\d+)\.\.(\d+)",
            lambda m: _(
                "Group size: the group would have %(n)s people; a group has %(low)s to %(high)s.",
                n=m[1],
                low=m[2],
                high=m[3],
            ),
        ),
        (
            r"age span (\d+) > (\d+)",
            lambda m: _(
                "Age span: %(span)s years between the youngest and the oldest age band; at "
                "most %(most)s are allowed.",
                span=m[1],
                most=m[2],
            ),
        ),
        (
            r"group at minimum size",
            lambda m: _(
                "Minimum size: a group of the smallest size is only formed when someone in it "
                "has waited long enough (the organisation's rule)."
            ),
        ),
        (
            r"cross-problem group",
            lambda m: _(
                "Across problems: someone does not welcome a group across problems, or has "
                "not waited long enough for one."
            ),
        ),
        (r"theme \S+ not shared", lambda m: _("Theme: not everyone chose this theme.")),
        (r"language not shared", lambda m: _("Language: not everyone speaks this language.")),
        (r"slot not shared", lambda m: _("Meeting time: not everyone can meet at this time.")),
        (
            r"single-gender wish",
            lambda m: _("Same gender: someone asked for a group of their own gender only."),
        ),
        (
            r"does not welcome digital",
            lambda m: _("Online: someone does not want to meet online."),
        ),
        (
            r"(spans catchments|not a member's organisation|organisation forbids)",
            lambda m: _(
                "Catchment: everyone must belong to the group's organisation (or, online, "
                "to organisations that allow it)."
            ),
        ),
        (
            r"facilitator lacks theme or language",
            lambda m: _("Facilitator: does not start groups on this theme or in this language."),
        ),
        (
            r"facilitator cannot start this digital group",
            lambda m: _("Facilitator: does not start online groups."),
        ),
        (
            r"facilitator from another organisation",
            lambda m: _("Facilitator: belongs to another organisation."),
        ),
        (
            r"starts, capacity",
            lambda m: _("Facilitator: has no free start (how many starts at once)."),
        ),
        (r"unknown members", lambda m: _("Someone you chose is not on the waiting list.")),
    ]
