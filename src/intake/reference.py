"""Reference data: regions, counties, municipalities and themes.

Loaded idempotently (upserts) at every start, so a new release can correct a name without a
migration. Municipalities come from ``db/reference/kommuner_2024.csv`` (see SOURCES.md there).
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.tables import county, municipality, region, theme

#: Selvhjelp Norge's seven regions, as groupings of counties. DOMAIN.md lists the regions by
#: their historical counties; Østfold and Akershus (formerly Viken, around Oslo) are placed in
#: the Oslo region, Buskerud with Vestfold and Telemark as DOMAIN.md says.
REGIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "oslo": ("Oslo, Akershus og Østfold", ("03", "31", "32")),
    "innlandet": ("Innlandet", ("34",)),
    "vestland": ("Vestland", ("46",)),
    "rogaland-agder": ("Rogaland og Agder", ("11", "42")),
    "vestfold-telemark-buskerud": ("Vestfold, Telemark og Buskerud", ("33", "39", "40")),
    "trondelag-more-romsdal": ("Trøndelag og Møre og Romsdal", ("15", "50")),
    "nord": ("Nordland, Troms og Finnmark", ("18", "55", "56")),
}


@dataclass(frozen=True, slots=True)
class ThemeName:
    slug: str
    nb: str
    nn: str
    en: str


#: The cross-problem choice (*på tvers av problemer*) is not a theme of its own: it is a wish
#: stored as ``cross_problem_welcome``. The API offers it next to the themes with these names.
CROSS_PROBLEM = ThemeName(
    "pa-tvers", "På tvers av problemer", "På tvers av problem", "Across problems"
)

THEMES: tuple[ThemeName, ...] = (
    ThemeName("angst", "Angst", "Angst", "Anxiety"),
    ThemeName("depresjon", "Depresjon", "Depresjon", "Depression"),
    ThemeName("sorg", "Sorg", "Sorg", "Grief"),
    ThemeName("ensomhet", "Ensomhet", "Einsemd", "Loneliness"),
    ThemeName("samlivsbrudd", "Samlivsbrudd", "Samlivsbrot", "Divorce or break-up"),
    ThemeName("utbrenthet", "Utbrenthet", "Utbrentheit", "Burnout"),
    ThemeName("stress", "Stress", "Stress", "Stress"),
    ThemeName("livskriser", "Livskriser", "Livskriser", "Life crises"),
    ThemeName("parorende", "Pårørende", "Pårørande", "Next of kin"),
    ThemeName(
        "parorende-rus",
        "Pårørende til personer med rusproblemer",
        "Pårørande til personar med rusproblem",
        "Next of kin of people with addiction",
    ),
    ThemeName(
        "parorende-demens",
        "Pårørende til personer med demens",
        "Pårørande til personar med demens",
        "Next of kin of people with dementia",
    ),
    ThemeName("kronisk-sykdom", "Kronisk sykdom", "Kronisk sjukdom", "Chronic illness"),
    ThemeName("kreft", "Kreft", "Kreft", "Cancer"),
    ThemeName(
        "hjerte-lunge",
        "Hjerte- og lungesykdom",
        "Hjarte- og lungesjukdom",
        "Heart and lung disease",
    ),
    ThemeName("smerte", "Smerte", "Smerte", "Pain"),
    ThemeName("spiseforstyrrelser", "Spiseforstyrrelser", "Eteforstyrringar", "Eating disorders"),
    ThemeName("rus", "Rus", "Rus", "Substance use"),
    ThemeName("trafikkskadde", "Trafikkskadde", "Trafikkskadde", "Injured in traffic"),
    ThemeName(
        "foreldre-funksjonsnedsettelse",
        "Foreldre til barn med nedsatt funksjonsevne",
        "Foreldre til born med nedsett funksjonsevne",
        "Parents of children with disabilities",
    ),
    ThemeName("arbeidsloshet", "Arbeidsløshet", "Arbeidsløyse", "Unemployment"),
)

#: Languages a group can be held in (ISO 639-1; "no" is Norwegian, bokmål or nynorsk).
LANGUAGES: dict[str, str] = {
    "no": "norsk",
    "se": "samisk",
    "en": "engelsk",
    "ar": "arabisk",
    "es": "spansk",
    "pl": "polsk",
    "uk": "ukrainsk",
    "ru": "russisk",
    "so": "somali",
    "ti": "tigrinja",
    "fa": "persisk",
    "ur": "urdu",
    "tr": "tyrkisk",
    "lt": "litauisk",
    "sv": "svensk",
    "da": "dansk",
    "de": "tysk",
    "fr": "fransk",
    "ku": "kurdisk",
    "th": "thai",
}

_FOLD = str.maketrans({"ø": "o", "æ": "ae", "å": "a", "đ": "d", "ŋ": "n", "ŧ": "t"})


def fold(text: str) -> str:
    """Lower-case ASCII form used for diacritics-tolerant prefix search ("tromso" → Tromsø)."""
    text = text.lower().translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def search_key(name: str) -> str:
    """Every part of a multilingual name ("Guovdageaidnu - Kautokeino") is searchable."""
    return " ".join(fold(part) for part in name.replace(" - ", " ").split())


def read_municipalities(csv_path: Path) -> list[dict[str, object]]:
    with csv_path.open(encoding="utf-8", newline="") as fh:
        return [
            {
                "number": row["kommunenummer"],
                "name": row["kommunenavn"],
                "county_number": row["fylkesnummer"],
                "county_name": row["fylkesnavn"],
                "population": int(row["population"]),
                "lat": float(row["lat"]),
                "lon": float(row["lon"]),
            }
            for row in csv.DictReader(fh)
        ]


async def seed_reference(session: AsyncSession, csv_path: Path) -> dict[str, int]:
    """Upsert regions, counties, municipalities and themes; returns counts per table."""
    rows = read_municipalities(csv_path)
    region_of = {c: slug for slug, (_, counties) in REGIONS.items() for c in counties}
    stmt = insert(region).values([{"slug": s, "name": n} for s, (n, _) in REGIONS.items()])
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["slug"], set_={"name": stmt.excluded.name})
    )
    counties = {r["county_number"]: r["county_name"] for r in rows}
    stmt = insert(county).values(
        [{"number": k, "name": v, "region_slug": region_of[str(k)]} for k, v in counties.items()]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["number"],
            set_={"name": stmt.excluded.name, "region_slug": stmt.excluded.region_slug},
        )
    )
    values = [
        {k: r[k] for k in ("number", "name", "county_number", "population", "lat", "lon")}
        | {"search_key": search_key(str(r["name"]))}
        for r in rows
    ]
    stmt = insert(municipality).values(values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["number"],
            set_={c: stmt.excluded[c] for c in values[0] if c != "number"},
        )
    )
    stmt = insert(theme).values(
        [
            {"slug": t.slug, "name_nb": t.nb, "name_nn": t.nn, "name_en": t.en, "position": i}
            for i, t in enumerate(THEMES)
        ]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["slug"],
            set_={c: stmt.excluded[c] for c in ("name_nb", "name_nn", "name_en", "position")},
        )
    )
    return {
        "regions": len(REGIONS),
        "counties": len(counties),
        "municipalities": len(values),
        "themes": len(THEMES),
    }
