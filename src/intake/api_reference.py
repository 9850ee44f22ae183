"""The reference part of the intake API: the consent text, themes, municipalities and
organisations — what a sign-up form needs to offer. Split from :mod:`intake.api`.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import Parameter, QueryParameter
from sqlalchemy import select

from intake.api_common import (
    READ,
    Db,
    problems,
)
from intake.consent import CURRENT_VERSION, TEXTS
from intake.places import match, places
from intake.reference import CROSS_PROBLEM, LANGUAGES
from intake.registry import list_organisations
from intake.schemas import (
    AGE_BANDS,
    SLOTS,
    ConsentText,
)
from intake.tables import county, municipality, theme


class ReferenceController(Controller):
    """Themes, municipalities and organisations: what a sign-up form needs to offer."""

    path = "/api/v1"
    tags = ["reference"]

    @get("/consent", responses=problems(400))
    async def consent(self) -> ConsentText:
        """The consent text a sign-up shows, and the version to send as consent.text_version."""
        current = TEXTS[CURRENT_VERSION]
        return ConsentText(
            version=CURRENT_VERSION,
            texts={"nb": current["nb"], "nn": current["nn"], "en": current["en"]},
        )

    @get("/themes", responses=problems(400))
    async def themes(self, db: Db) -> dict[str, Any]:
        """Themes (slugs for ``themes``), age bands, times and languages a sign-up offers."""
        rows = (await db.execute(select(theme).order_by(theme.c.position))).mappings().all()
        return {
            "themes": [
                {
                    "slug": r["slug"],
                    "names": {"nb": r["name_nb"], "nn": r["name_nn"], "en": r["name_en"]},
                }
                for r in rows
            ],
            "cross_problem": {
                "slug": CROSS_PROBLEM.slug,
                "names": {"nb": CROSS_PROBLEM.nb, "nn": CROSS_PROBLEM.nn, "en": CROSS_PROBLEM.en},
                "field": "cross_problem_welcome",
            },
            "age_bands": list(AGE_BANDS),
            "availability": list(SLOTS),
            "languages": LANGUAGES,
        }

    @get("/municipalities", responses=problems(*READ))
    async def municipalities(
        self, db: Db, q: Annotated[str | None, Parameter(max_length=60)] = None
    ) -> list[dict[str, Any]]:
        """Search by current or former name (before the 2017–2020 mergers), best match first:
        exact, prefix, word prefix, contains. æ, ø and å are letters of their own ("Bø" does
        not find Bodø; "aa" counts as "å"); an ASCII-only query also matches folded names
        ("tromso" → Tromsø), after the others. A number prefix matches too. ``label`` carries
        the county where two municipalities share a name. The sign-up form uses the same rules
        (``intake.places``)."""
        stmt = select(
            municipality.c.number, municipality.c.name, county.c.name.label("county")
        ).join(county, county.c.number == municipality.c.county_number)
        rows = (await db.execute(stmt)).all()
        county_of = {r.number: r.county for r in rows}
        found = places((r.number, r.name, r.county) for r in rows)
        if q and q.strip():
            by_number = [p for p in found if p.number.startswith(q.strip())]
            found = match(q, found) or by_number
        return [
            {
                "number": p.number,
                "name": p.name,
                "county": county_of[p.number],
                "label": p.label,
                "former_names": list(p.former),
            }
            for p in found
        ]

    @get("/organisations", responses=problems(*READ))
    async def organisations(
        self,
        db: Db,
        municipality_number: Annotated[
            str | None, QueryParameter(name="municipality", pattern=r"^\d{4}$")
        ] = None,
    ) -> list[dict[str, Any]]:
        orgs = await list_organisations(db, municipality_number=municipality_number)
        return [
            {
                "id": str(o.id),
                "slug": o.slug,
                "name": o.name,
                "kind": o.kind,
                "region": o.region_slug,
                "municipalities": list(o.municipalities),
            }
            for o in orgs
        ]
