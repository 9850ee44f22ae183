"""The waiting list (``/ansatt/venteliste``): everyone the viewer may see who waits, longest
first, filtered with a plain GET form (works without JavaScript), 50 a page, and the same list
as CSV. Rows name no one: a pseudonymous reference, the choices, the waiting time, the status.

A person's record is :mod:`staff.person`; registering someone after a phone call is
:mod:`staff.phone`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from intake.reference import CROSS_PROBLEM, LANGUAGES
from intake.schemas import PARTS_OF_DAY, WEEKDAYS
from intake.web import views
from intake.web.i18n import Translator
from staff.access import Viewer
from staff.csv_export import csv_response
from staff.people import (
    EXPORT_LIMIT,
    PAGE_SIZE,
    STATUSES,
    Filters,
    Person,
    municipalities_in_scope,
    organisations_in_scope,
    waiting_list,
)
from staff.render import language, render


class Words:
    """Choices, statuses and waiting times in the page language (list, record, CSV)."""

    def __init__(self, lang: str) -> None:
        self.t = Translator(lang)
        _ = self.t.gettext
        self.lang = lang
        self.themes = views.theme_names(lang)
        common, rest = views.language_choices(lang)
        self.languages = dict(common + rest)
        days = dict(views.weekday_names(lang))
        parts = dict(views.part_names(self.t))
        self.slots = {
            f"{d}-{p}": f"{days[d]} {parts[p].lower()}" for d in WEEKDAYS for p in PARTS_OF_DAY
        }
        self.statuses = {
            "waiting": _("Waiting"),
            "proposed": _("In a proposed group"),
            "invited": _("Invited to a group"),
            "placed": _("In a group"),
            "all": _("All not yet erased"),
        }
        self.sources = {
            "self": _("Signed up themselves"),
            "staff": _("Registered by staff"),
            "referral": _("Referred after a course"),
        }

    def themes_of(self, p: Person) -> str:
        names = [self.themes.get(s, s) for s in p.themes]
        if p.cross_problem_welcome:
            names.append(self.themes[CROSS_PROBLEM.slug])
        return ", ".join(names)

    def languages_of(self, p: Person) -> str:
        return ", ".join(self.languages.get(c, LANGUAGES.get(c, c)) for c in p.languages)

    def slots_of(self, p: Person) -> str:
        return ", ".join(self.slots.get(s, s) for s in p.slots)

    def waited(self, p: Person, now: datetime) -> str:
        days = p.waited_days(now)
        if days < 14:
            return self.t.ngettext("%(num)d day", "%(num)d days", days)
        return self.t.ngettext("%(num)d week", "%(num)d weeks", days // 7)


def _choices(words: Words) -> dict[str, Any]:
    return {
        "theme_choices": sorted(words.themes.items(), key=lambda x: x[1]),
        "language_choices": sorted(words.languages.items(), key=lambda x: x[1]),
        "slot_choices": list(words.slots.items()),
        "source_choices": list(words.sources.items()),
        "status_choices": [(s, words.statuses[s]) for s in (*STATUSES, "all")],
    }


def _csv(words: Words, people: list[Person], now: datetime) -> Response[bytes]:
    _ = words.t.gettext
    header = [
        _("Reference"), _("Organisation"), _("Municipality"), _("Themes"), _("Languages"),
        _("Times"), _("Online welcome"), _("Waiting since"), _("Days waiting"), _("Status"),
        _("Source"),
    ]  # fmt: skip
    rows = [
        [
            p.reference, p.organisation_name or _("unmet demand"), p.municipality_name,
            words.themes_of(p), words.languages_of(p), words.slots_of(p),
            _("yes") if p.digital_welcome else _("no"),
            p.waiting_since.date().isoformat(), p.waited_days(now),
            words.statuses.get(p.status, p.status), words.sources.get(p.source, p.source),
        ]
        for p in people
    ]  # fmt: skip
    return csv_response(f"venteliste-{now.date().isoformat()}.csv", header, rows)


@get("/venteliste", name="staff-waiting")
async def waiting_page(
    request: Request[Any, Any, Any], db: AsyncSession, health_viewer: Viewer, now: datetime
) -> Response[Any]:
    """The list. A theme chosen ("depression", "addiction") says something about a person's
    health even under a pseudonym, so the list needs the second factor like the record."""
    viewer = health_viewer
    filters = Filters.parse(dict(request.query_params))
    words = Words(language(request))
    if request.query_params.get("format") == "csv":
        people, _ = await waiting_list(db, viewer, filters, now=now, limit=EXPORT_LIMIT, offset=0)
        return _csv(words, people, now)
    people, total = await waiting_list(db, viewer, filters, now=now)
    pages = max(1, -(-total // PAGE_SIZE))

    def link(**changes: Any) -> str:
        return "/ansatt/venteliste?" + urlencode(filters.query(**changes))

    return render(
        request,
        "waiting.html",
        viewer=viewer,
        section="waiting",
        filters=filters,
        people=people,
        total=total,
        pages=pages,
        words=words,
        now=now,
        municipality_choices=await municipalities_in_scope(db, viewer),
        organisation_choices=await organisations_in_scope(db, viewer),
        sees_unmet=viewer.unmet_regions() != [],
        link=link,
        csv_link=link(format="csv", page=""),
        first=(filters.page - 1) * PAGE_SIZE + 1,
        ok=words.t.gettext("The person is withdrawn and their registration erased.")
        if request.query_params.get("ok") == "withdrawn"
        else None,
        **_choices(words),
    )


ROUTES: list[Any] = [waiting_page]
