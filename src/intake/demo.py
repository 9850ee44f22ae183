"""Demo organisations and facilitators (`samhjelp db seed --demo`), never loaded otherwise.

Names of real centres are used so the demo reads like the field; e-mail addresses are
``@example.no`` so no message can reach a real person.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.registry import add_facilitator, add_organisation
from intake.tables import facilitator

ALL_THEMES = (
    "angst",
    "depresjon",
    "sorg",
    "ensomhet",
    "samlivsbrudd",
    "utbrenthet",
    "stress",
    "livskriser",
    "parorende",
    "across",
)


@dataclass(frozen=True)
class DemoOrg:
    slug: str
    name: str
    kind: str
    municipalities: tuple[str, ...]
    facilitators: tuple[tuple[str, tuple[str, ...], tuple[str, ...], bool], ...] = ()


DEMO: tuple[DemoOrg, ...] = (
    DemoOrg(
        "link-oslo",
        "LINK Oslo",
        "link",
        ("0301",),
        (
            ("Kari Igangsetter", ALL_THEMES, ("no", "en"), True),
            ("Ola Igangsetter", ALL_THEMES, ("no",), False),
        ),
    ),
    DemoOrg(
        "link-bergen",
        "LINK Bergen og omegn",
        "link",
        ("4601", "4623", "4624", "4626", "4627", "4628", "4630", "4631"),
        (
            ("Ingrid Igangsetter", ALL_THEMES, ("no",), True),
            ("Lucía Igangsetter", ("across", "ensomhet", "angst"), ("es", "no"), False),
            ("Amal Igangsetter", ("across", "ensomhet", "angst"), ("ar", "no"), False),
        ),
    ),
    DemoOrg(
        "link-trondheim",
        "LINK Trondheim",
        "link",
        ("5001", "5028", "5031"),
        (("Per Igangsetter", ALL_THEMES, ("no",), False),),
    ),
    DemoOrg(
        "tromso-frivilligsentral",
        "Tromsø frivilligsentral",
        "contact_point",
        ("5501",),
        (("Sara Igangsetter", ALL_THEMES, ("no", "se"), True),),
    ),
    DemoOrg(
        "lillehammer-frisklivssentral",
        "Frisklivssentralen i Lillehammer",
        "contact_point",
        ("3405", "3440", "3441"),
        (("Jon Igangsetter", ALL_THEMES, ("no",), False),),
    ),
    DemoOrg(
        "lms-haukeland",
        "Lærings- og mestringssenteret, Haukeland",
        "learning_mastery_service",
        (),
    ),
)


async def seed_demo(session: AsyncSession) -> int:
    """Create the demo registry; re-running updates organisations and adds no duplicates."""
    for org in DEMO:
        created = await add_organisation(
            session,
            slug=org.slug,
            name=org.name,
            kind=org.kind,
            municipalities=org.municipalities,
            region_slug=None if org.municipalities else "vestland",
            contact_email=f"post@{org.slug}.example.no",
            coordinator_email=f"koordinator@{org.slug}.example.no",
        )
        existing = set(
            (
                await session.execute(
                    select(facilitator.c.name).where(facilitator.c.organisation_id == created.id)
                )
            ).scalars()
        )
        for name, themes, languages, digital in org.facilitators:
            if name in existing:
                continue
            await add_facilitator(
                session,
                organisation_id=created.id,
                name=name,
                email=f"{name.split()[0].lower()}@{org.slug}.example.no",
                themes=themes,
                languages=languages,
                max_concurrent_starts=2,
                digital=digital,
            )
    return len(DEMO)
