"""Lapsed, outcomes by theme and language, waiting by language, source and age band (issue
11) on real PostgreSQL: the hand-computed fixture, every new table on every endpoint, and the
page."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
from jsonstat_validator import validate_jsonstat
from sqlalchemy.ext.asyncio import AsyncSession

import figures.read
from figures.catalogue import TABLES
from figures.refresh import refresh_release
from intake.crypto import ContactCipher
from integration.figures.fixture import NOV, seed, seed_lapsed
from integration.figures.test_open_data import value_at
from integration.figures.test_release_figures import published

NEW_TABLES = [
    t
    for t in TABLES
    if t == "lapsed" or ("-by-" in t and not t.startswith(("signups", "waiting-by-theme")))
]

#: Worked out by hand from the fixture (see fixture.py). August: Bergen's 5 sign-ups all
#: lapsed: 5 at every level, and by theme (angst) and language (no) down to the county. July:
#: 7 sign-ups, 3 lapsed and 4 withdrawn, nobody waiting: both outcomes are under five and
#: hidden everywhere (two unknowns in each area's sign-ups = placed + withdrawn + lapsed +
#: rest, the rest a known zero), by theme too. November: the 6 placed (erased) chose angst,
#: shown by theme and language. October: 2 placed and 2 withdrawn chose angst: hidden; nobody
#: who chose sorg was placed (a shown zero). Waiting now: 19, all 'self', aged 33-37, 'no':
#: Bergen's 10 shown, Lillehammer's 3 hidden, like the waiting themselves.
EXPECTED: dict[tuple[str, str, str, str], int | None] = {
    ("lapsed", "2026-08", "nation:NO", "all"): 5,
    ("lapsed", "2026-08", "county:46", "all"): 5,
    ("lapsed", "2026-08", "municipality:4601", "all"): 5,
    ("signups", "2026-08", "nation:NO", "all"): 5,
    ("lapsed-by-theme", "2026-08", "county:46", "theme:angst"): 5,
    ("lapsed-by-language", "2026-08", "nation:NO", "language:no"): 5,
    ("placed-by-theme", "2026-08", "nation:NO", "theme:angst"): 0,
    ("signups", "2026-07", "nation:NO", "all"): 7,
    ("signups", "2026-07", "municipality:4601", "all"): 7,
    ("lapsed", "2026-07", "nation:NO", "all"): None,
    ("lapsed", "2026-07", "region:vestland", "all"): None,
    ("lapsed", "2026-07", "municipality:4601", "all"): None,
    ("withdrawn", "2026-07", "nation:NO", "all"): None,
    ("withdrawn", "2026-07", "municipality:4601", "all"): None,
    ("signups-by-theme", "2026-07", "nation:NO", "theme:angst"): 7,
    ("lapsed-by-theme", "2026-07", "nation:NO", "theme:angst"): None,
    ("withdrawn-by-theme", "2026-07", "county:46", "theme:angst"): None,
    ("lapsed-by-language", "2026-07", "county:46", "language:no"): None,
    ("placed-by-theme", "2026-11", "nation:NO", "theme:angst"): 6,
    ("placed-by-theme", "2026-11", "county:46", "theme:angst"): 6,
    ("placed-by-language", "2026-11", "region:vestland", "language:no"): 6,
    ("placed-by-theme", "2026-10", "nation:NO", "theme:angst"): None,
    ("withdrawn-by-theme", "2026-10", "nation:NO", "theme:angst"): None,
    ("placed-by-theme", "2026-10", "nation:NO", "theme:sorg"): 0,
    ("placed-by-language", "2026-10", "nation:NO", "language:no"): None,
    ("lapsed", "2026-10", "nation:NO", "all"): 0,
    # Everyone of the fixture signed up themselves ('self'): by source as in all.
    ("placed-by-source", "2026-11", "nation:NO", "source:self"): 6,
    ("placed-by-source", "2026-11", "municipality:4601", "source:self"): 6,
    ("withdrawn-by-source", "2026-09", "municipality:4601", "source:self"): 5,
    ("lapsed-by-source", "2026-08", "municipality:4601", "source:self"): 5,
    ("lapsed-by-source", "2026-08", "county:46", "source:self"): 5,
    ("lapsed-by-source", "2026-07", "municipality:4601", "source:self"): None,
    ("withdrawn-by-source", "2026-07", "nation:NO", "source:self"): None,
    ("placed-by-source", "2026-10", "municipality:4601", "source:self"): None,
    ("placed-by-source", "2026-10", "municipality:4632", "source:self"): 0,
    # By theme and language below the county: Bergen's own.
    ("placed-by-theme", "2026-11", "municipality:4601", "theme:angst"): 6,
    ("placed-by-language", "2026-11", "municipality:4601", "language:no"): 6,
    ("lapsed-by-theme", "2026-08", "municipality:4601", "theme:angst"): 5,
    ("lapsed-by-theme", "2026-07", "municipality:4601", "theme:angst"): None,
    ("placed-by-theme", "2026-10", "municipality:4601", "theme:angst"): None,
    ("waiting-by-source", "now", "nation:NO", "source:self"): 19,
    ("waiting-by-source", "now", "municipality:4601", "source:self"): 10,
    ("waiting-by-source", "now", "municipality:3405", "source:self"): None,
    ("waiting-by-age", "now", "nation:NO", "age:33-37"): 19,
    ("waiting-by-age", "now", "municipality:4632", "age:33-37"): None,
    ("waiting-by-language", "now", "nation:NO", "language:no"): 19,
    ("waiting-by-language", "now", "municipality:4601", "language:no"): 10,
}


async def release(session: AsyncSession, cipher: ContactCipher) -> dict[str, Any]:
    orgs = await seed(session, cipher)
    await seed_lapsed(session, orgs["a"])
    await refresh_release(session, now=NOV)
    figures.read._NAMES.clear()  # area names are kept a minute; these organisations are new
    return orgs


async def test_new_tables_match_the_hand_computed_fixture(
    session: AsyncSession, cipher: ContactCipher
) -> None:
    orgs = await release(session, cipher)
    cells = await published(session)
    a = f"catchment:{orgs['a'].slug}"
    expected = EXPECTED | {
        ("lapsed", "2026-08", a, "all"): 5,  # org A serves Bergen alone
        ("lapsed", "2026-07", a, "all"): None,
        ("waiting-by-age", "now", a, "age:33-37"): 10,
        # Org A serves Bergen alone: its catchment is Bergen, which the release shows.
        ("placed-by-source", "2026-11", a, "source:self"): 6,
        ("lapsed-by-theme", "2026-08", a, "theme:angst"): 5,
        ("lapsed-by-source", "2026-07", a, "source:self"): None,
    }
    for key, want in expected.items():
        assert cells.get(key, (0, False)) == (want, want is None), key
    for (table, *_), (value, suppressed) in cells.items():
        if table in NEW_TABLES:
            assert suppressed == (value is None)
            assert value is None or value == 0 or value >= 5, table
    # Outcomes by theme, language and source reach the municipality and the catchment; not
    # by age band (at no level).
    assert {
        k[2].split(":")[0]
        for k in cells
        if k[0].startswith(("placed-by", "withdrawn-by", "lapsed-by"))
    } >= {"municipality", "catchment"}
    assert not [k for k in cells if k[0].endswith("-by-age") and not k[0].startswith(("s", "w"))]


async def test_every_new_table_on_every_endpoint(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    """Each new table at each of its levels: valid JSON-stat 2.0, the same cells as CSV, no
    shown count of 1–4 on either, and the hand-computed cells at their stable URLs; a level a
    table does not have is a problem (422)."""
    await release(session, cipher)
    listing = {t["id"]: t for t in (await client.get("/api/v1/statistics")).json()["tables"]}
    assert set(NEW_TABLES) <= set(listing)
    every = ["nation", "region", "county", "municipality", "catchment"]
    assert listing["placed-by-theme"]["levels"] == every
    assert listing["lapsed-by-source"]["levels"] == every
    assert "placed-by-age" not in listing
    for table in NEW_TABLES:
        for level in TABLES[table].levels:
            data = (await client.get(f"/api/v1/statistics/tables/{table}?level={level}")).json()
            assert validate_jsonstat(data), (table, level)
            for i, v in enumerate(data["value"]):
                assert (data["status"].get(str(i)) == ":") == (v is None)
                assert v is None or v == 0 or v >= 5, (table, level, i, v)
            text = (await client.get(f"/api/v1/statistics/csv/{table}?level={level}")).text
            rows = list(csv.DictReader(io.StringIO(text)))
            assert len(rows) == len(data["value"])
            by_key = {(r["period"], r["area_code"], r[TABLES[table].dimension]): r for r in rows}
            for (t, period, area, category), want in EXPECTED.items():
                kind, code = area.split(":")
                if t != table or kind != level:
                    continue
                cats = data["dimension"][TABLES[table].dimension]["category"]["index"]
                if want == 0 and category not in cats:  # no cell of it at all: zeros
                    continue
                if period != "now":
                    got = value_at(data, period, code, category)
                    assert got == (want, None if want is not None else ":"), (t, period, area)
                    row = by_key[(period, code, category)]
                    assert (row["value"], row["status"]) == (
                        ("", "suppressed") if want is None else (str(want), "")
                    ), (t, period, area)
    wrong = await client.get("/api/v1/statistics/tables/unmet?level=catchment")
    assert wrong.status_code == 422
    missing = await client.get("/api/v1/statistics/tables/placed-by-age?level=county")
    assert missing.status_code == 404


async def test_the_page_shows_lapsed_waiting_by_age_and_a_catchments_municipalities(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    orgs = await release(session, cipher)
    label = r"<dt>Of these, lapsed \(their registration ran out\)</dt>"
    august = (await client.get("/statistikk?area=municipality:4601&month=2026-08&lang=en")).text
    assert re.search(label + r"<dd>5</dd>", august), august
    july = (await client.get("/statistikk?area=municipality:4601&month=2026-07&lang=en")).text
    assert re.search(label + r"<dd[^>]*>hidden</dd>", july), july
    nation = (await client.get("/statistikk?month=2026-11&lang=en")).text
    assert "Waiting now in Norway, by age band" in nation
    assert re.search(r'<th scope="row">33–37</th><td class="num">19</td>', nation), nation
    slug = orgs["a"].slug
    page = (await client.get(f"/statistikk?area=catchment:{slug}&month=2026-11&lang=en")).text
    assert "The municipalities LINK Bergen test serves" in page, page
    link = "/statistikk?area=municipality:4601&amp;month=2026-11&amp;lang=en"
    assert f'<a class="ds-link" href="{link}">Bergen</a>' in page, page
    # A municipality's page lists no members.
    assert "figures-members" not in august


async def test_the_page_shows_what_became_of_a_months_sign_ups_by_source_theme_language(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    """A municipality's page: the month's sign-ups by way of sign-up and by theme, and of
    these placed, withdrawn and lapsed, from the release's cells (hidden where suppressed)."""
    await release(session, cipher)
    nov = (await client.get("/statistikk?area=municipality:4601&month=2026-11&lang=en")).text
    assert "What became of them in Bergen, by way of sign-up" in nov, nov
    num = '<td class="num">{}</td>'
    row = '<tr><th scope="row">{}</th>' + num * 4 + "</tr>"
    assert row.format("Signed up themselves", 11, 6, 0, 0) in nov, nov
    assert "What became of them in Bergen, by theme" in nov
    assert row.format("Norwegian", 11, 6, 0, 0) in nov, nov
    july = (await client.get("/statistikk?area=municipality:4601&month=2026-07&lang=en")).text
    # July: 7 sign-ups, 4 withdrawn and 3 lapsed, both hidden (and so the sign-ups stay).
    assert row.format("Signed up themselves", 7, 0, "hidden", "hidden") in july, july
    nb = (await client.get("/statistikk?area=municipality:4601&month=2026-11&lang=nb")).text
    assert "Meldte seg på selv" in nb
