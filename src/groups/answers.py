"""The "your group" page at ``/g/<token>``: a participant's (or the facilitator's) view of the
group's coming meetings, in full, and the answers a participant can give there.

It is what an SMS links to when a place or a digital meeting's link would not fit one message
(:mod:`notify.render` never truncates them), and where a participant who said yes can say
"I can't come this time" (one meeting; no reminder for it, the facilitator is told) or leave
the group (a calendar CANCEL for every coming meeting; back in the queue) — not only withdraw
from the service. Someone who has not answered the invitation answers yes or no here.

Unlike ``/s/`` links this one is viewed, never used up (like the roster); it expires after the
group's facilitated meetings and is retired with the group's links when the group ends. GET
never changes anything (mail scanners follow links); each answer is a POST with the site's CSRF
token. Pages use the shared layout and security headers through :mod:`groups.page_render`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from groups import common, invitations, links, members
from groups.brief import when_text
from groups.links import Link, LinkProblem, Purpose
from groups.model import MemberState
from groups.page_render import _csrf, _problem, _render
from groups.pages import _language, _lifecycle
from matching.tables import group_member

_TEXT: dict[str, dict[str, str]] = {
    "nb": {
        "title": "Gruppen din",
        "meetings": "Møtene",
        "invited": "Du er invitert. Svar innen {deadline}.",
        "yes": "Ja, jeg kommer",
        "no": "Nei, jeg kan ikke",
        "no_help": "Svarer du nei, står du i køen igjen med samme ventetid.",
        "absent": "Jeg kan ikke komme {when}",
        "absent_help": "Du beholder plassen din i gruppen. Igangsetteren får beskjed.",
        "absent_noted": "Du har sagt fra at du ikke kommer",
        "leave": "Gå ut av gruppen",
        "leave_help": "Møtene fjernes fra kalenderen din, og du står i køen igjen med samme "
        "ventetid.",
        "none": "Gruppen har ingen planlagte møter nå.",
        "gone": "Dette gjelder ikke lenger, for eksempel fordi gruppen er avsluttet. Du trenger "
        "ikke gjøre noe.",
        "done_yes": "Takk! Vi har registrert at du blir med.",
        "done_no": "Vi har registrert svaret ditt. Du står i køen igjen med samme ventetid.",
        "done_absent": "Takk for at du sa fra. Du får ingen påminnelse om dette møtet.",
        "done_leave": "Du har gått ut av gruppen. Du står i køen igjen med samme ventetid.",
    },
    "nn": {
        "title": "Gruppa di",
        "meetings": "Møta",
        "invited": "Du er invitert. Svar innan {deadline}.",
        "yes": "Ja, eg kjem",
        "no": "Nei, eg kan ikkje",
        "no_help": "Svarar du nei, står du i køen igjen med same ventetid.",
        "absent": "Eg kan ikkje kome {when}",
        "absent_help": "Du beheld plassen din i gruppa. Igangsetjaren får beskjed.",
        "absent_noted": "Du har sagt frå at du ikkje kjem",
        "leave": "Gå ut av gruppa",
        "leave_help": "Møta blir fjerna frå kalenderen din, og du står i køen igjen med same "
        "ventetid.",
        "none": "Gruppa har ingen planlagde møte no.",
        "gone": "Dette gjeld ikkje lenger, til dømes fordi gruppa er avslutta. Du treng ikkje "
        "gjere noko.",
        "done_yes": "Takk! Vi har registrert at du blir med.",
        "done_no": "Vi har registrert svaret ditt. Du står i køen igjen med same ventetid.",
        "done_absent": "Takk for at du sa frå. Du får inga påminning om dette møtet.",
        "done_leave": "Du har gått ut av gruppa. Du står i køen igjen med same ventetid.",
    },
    "en": {
        "title": "Your group",
        "meetings": "The meetings",
        "invited": "You are invited. Please answer by {deadline}.",
        "yes": "Yes, I will come",
        "no": "No, I cannot",
        "no_help": "If you say no, you are back in the queue with the same waiting time.",
        "absent": "I can't come on {when}",
        "absent_help": "You keep your place in the group. The facilitator is told.",
        "absent_noted": "You told us you will not come",
        "leave": "Leave the group",
        "leave_help": "The meetings are removed from your calendar, and you are back in the "
        "queue with the same waiting time.",
        "none": "The group has no planned meetings now.",
        "gone": "This no longer applies, for example because the group has ended. You do not "
        "need to do anything.",
        "done_yes": "Thank you! We have recorded that you will come.",
        "done_no": "We have recorded your answer. You are back in the queue with the same "
        "waiting time.",
        "done_absent": "Thank you for telling us. You will get no reminder for this meeting.",
        "done_leave": "You have left the group. You are back in the queue with the same "
        "waiting time.",
    },
}


@dataclass(frozen=True, slots=True)
class _Action:
    name: str
    label: str
    variant: str = "secondary"
    help: str = ""
    meeting: str = ""


async def _resolve(
    request: Request[Any, Any, Any], db: AsyncSession, token: str, now: datetime
) -> Link | Response[str]:
    lc = _lifecycle(request)
    found = await links.resolve(db, token, secret=lc.link_secret, now=now)
    if isinstance(found, LinkProblem):
        return _problem(request, found)
    if found.purpose is not Purpose.MEMBER:
        return _problem(request, LinkProblem.FORGED)
    return found


async def _page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    link: Link,
    lang: str,
    *,
    now: datetime,
    notice: str = "",
    status: int = 200,
) -> Response[str]:
    text = _TEXT[lang]
    gid = link.object_id
    group = await common.load_group(db, gid, lock=False)
    if group is None or group.ended:
        return _render(request, "member_page.html", lang=lang, status=410 if not notice else 200,
                       title=text["title"], notice=notice, paragraphs=[text["gone"]],
                       meetings=[], meetings_title="", actions=[], csrf="")  # fmt: skip
    member = (
        await db.execute(
            select(group_member.c.state, group_member.c.active, group_member.c.respond_by).where(
                group_member.c.group_id == gid, group_member.c.interest_id == link.subject_id
            )
        )
    ).first()
    coming = [m for m in await invitations.planned_meetings(db, gid) if m.starts_at > now]
    absent = {
        m.id for m in coming if link.subject_id in await members.absent_from(db, m.id)
    }  # fmt: skip
    shown = [
        {
            "when": when_text(m.starts_at, lang),
            "place": m.place,
            "link": m.place.startswith(("https://", "http://")) and " " not in m.place,
            "absent": text["absent_noted"] if m.id in absent else "",
        }
        for m in coming
    ]
    paragraphs = [] if coming else [text["none"]]
    actions: list[_Action] = []
    state = MemberState(member.state) if member is not None and member.active else None
    if state in (MemberState.INVITED, MemberState.INFORMED):
        if member is not None and member.respond_by is not None:
            deadline = when_text(member.respond_by, lang)
            paragraphs.append(text["invited"].format(deadline=deadline))
        actions += [_Action("yes", text["yes"], "primary"), _Action("no", text["no"],
                    help=text["no_help"])]  # fmt: skip
    elif state is MemberState.CONFIRMED:
        nxt = next((m for m in coming if m.id not in absent), None)
        if nxt is not None:
            label = text["absent"].format(when=when_text(nxt.starts_at, lang))
            actions.append(_Action("absent", label, help=text["absent_help"], meeting=str(nxt.id)))
        actions.append(_Action("leave", text["leave"], help=text["leave_help"]))
    return _render(request, "member_page.html", lang=lang, status=status, title=text["title"],
                   notice=notice, paragraphs=paragraphs, meetings=shown,
                   meetings_title=text["meetings"], actions=actions,
                   csrf=_csrf(request))  # fmt: skip


@get("/g/{token:str}", include_in_schema=False)
async def show_group(
    token: str, request: Request[Any, Any, Any], db: AsyncSession, now: datetime
) -> Response[str]:
    """The group's coming meetings and the answers the holder can give; changes nothing."""
    found = await _resolve(request, db, token, now)
    if isinstance(found, Response):
        return found
    lang = await _language(request, db, found.object_id)
    return await _page(request, db, found, lang, now=now)


@post("/g/{token:str}", include_in_schema=False, status_code=200)
async def answer_group(
    token: str, request: Request[Any, Any, Any], db: AsyncSession, now: datetime
) -> Response[str]:
    """Yes or no to the invitation, "I can't come this time", or "leave the group"."""
    found = await _resolve(request, db, token, now)
    if isinstance(found, Response):
        return found
    lc = _lifecycle(request)
    lang = await _language(request, db, found.object_id)
    text = _TEXT[lang]
    form = await request.form()
    action = str(form.get("action", ""))
    gid, iid = found.object_id, found.subject_id
    done = False
    if action in ("yes", "no"):
        result = await members.answer(
            db, lc, gid, iid, accept=action == "yes", now=now,
            states=(MemberState.INVITED, MemberState.INFORMED),
        )  # fmt: skip
        done = result is not members.Answer.GONE
        if done:
            await links.consume(db, Link(found.nonce, Purpose.INVITE_ACCEPT, gid, iid,
                                         found.expires_at), now=now)  # fmt: skip
    elif action == "absent":
        try:
            meeting_id = uuid.UUID(str(form.get("meeting", "")))
        except ValueError:
            meeting_id = None
        done = meeting_id is not None and await members.mark_absent(
            db, lc, gid, iid, meeting_id, now=now
        )
    elif action == "leave":
        done = await members.leave_group(db, lc, gid, iid, now=now)
    if not done:
        return await _page(request, db, found, lang, now=now, status=409,
                           notice=text["gone"])  # fmt: skip
    return await _page(request, db, found, lang, now=now, notice=text[f"done_{action}"])


#: Registered next to the ``/s/`` link routes (``samhjelp.app``).
ROUTES = [show_group, answer_group]
