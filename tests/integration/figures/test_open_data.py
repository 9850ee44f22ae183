"""The open-data endpoints and the statistics page over HTTP: stable URLs, valid JSON-stat 2.0,
CSV with a status per cell, and the threshold rule on every endpoint."""

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
from integration.figures.fixture import EXPECTED, NOV, seed


async def published(session: AsyncSession, cipher: ContactCipher) -> None:
    await seed(session, cipher)
    await refresh_release(session, now=NOV)


def value_at(data: dict[str, Any], period: str, area: str, category: str) -> tuple[Any, Any]:
    """(value, status) of one cell of a JSON-stat dataset, by category ids."""
    dims = [data["dimension"][d]["category"]["index"] for d in data["id"]]
    p, a, c = dims[0][period], dims[1][area], dims[2][category]
    i = (p * data["size"][1] + a) * data["size"][2] + c
    return data["value"][i], data["status"].get(str(i))


async def test_every_table_is_valid_jsonstat_and_hides_small_counts(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    await published(session, cipher)
    listing = (await client.get("/api/v1/statistics")).json()
    assert [t["id"] for t in listing["tables"]] == list(TABLES)
    for entry in listing["tables"]:
        for level in entry["levels"]:
            resp = await client.get(f"/api/v1/statistics/tables/{entry['id']}?level={level}")
            assert resp.status_code == 200, (entry["id"], level, resp.text)
            data = resp.json()
            assert validate_jsonstat(data), (entry["id"], level)
            assert len(data["value"]) == data["size"][0] * data["size"][1] * data["size"][2]
            for i, v in enumerate(data["value"]):
                suppressed = data["status"].get(str(i)) == ":"
                assert suppressed == (v is None)
                if entry["protected"] and v is not None:
                    assert v == 0 or v >= 5, (entry["id"], level, i, v)
            rows = list(
                csv.DictReader(
                    io.StringIO(
                        (
                            await client.get(f"/api/v1/statistics/csv/{entry['id']}?level={level}")
                        ).text
                    )
                )
            )
            assert len(rows) == len(data["value"])
            for row in rows:
                assert (row["status"] == "suppressed") == (row["value"] == "")
                if entry["protected"] and row["value"]:
                    assert int(row["value"]) == 0 or int(row["value"]) >= 5


async def test_jsonstat_cells_match_the_fixture(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    await published(session, cipher)
    for (table, period, area, category), expected in EXPECTED.items():
        if period == "now":
            continue
        kind, code = area.split(":")
        data = (await client.get(f"/api/v1/statistics/tables/{table}?level={kind}")).json()
        value, status = value_at(data, period, code, category)
        assert (value, status) == (expected, None if expected is not None else ":"), (
            table,
            period,
            area,
            category,
        )


async def test_unknown_table_level_and_month_are_problems(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    await published(session, cipher)
    assert (await client.get("/api/v1/statistics/tables/nope")).status_code == 404
    # Unmet demand is not published per catchment (a catchment is what an organisation serves).
    wrong = await client.get("/api/v1/statistics/tables/unmet?level=catchment")
    assert wrong.status_code == 422
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/api/v1/statistics/tables/signups?from=2026-13")).status_code == 422
    some = (await client.get("/api/v1/statistics/tables/signups?from=2026-11&to=2026-11")).json()
    assert list(some["dimension"]["period"]["category"]["index"]) == ["2026-11"]


async def test_the_page_shows_protected_figures_in_three_languages(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    await published(session, cipher)
    page = await client.get("/statistikk?area=municipality:3405&month=2026-10&lang=en")
    assert page.status_code == 200
    html = page.text
    assert "Lillehammer" in html and 'role="img"' in html and "<desc" in html
    # Lillehammer's 3 sign-ups are hidden, never printed as a number next to their label.
    assert re.search(r"<dt>Sign-ups</dt><dd[^>]*>hidden</dd>", html), html
    nation = (await client.get("/statistikk?month=2026-10&lang=en")).text
    assert re.search(r"<dt>Sign-ups</dt><dd>18</dd>", nation)
    assert re.search(r"<dt>Waiting now</dt><dd[^>]*>hidden</dd>", nation)  # see EXPECTED
    assert re.search(r"<dt>Waiting now with no facilitator for their theme</dt><dd>13</dd>", nation)
    for lang, word in (("nb", "Statistikk"), ("nn", "Statistikk"), ("en", "Statistics")):
        got = await client.get(f"/statistikk?lang={lang}")
        assert got.status_code == 200 and f'<html lang="{lang}"' in got.text
        assert word in got.text


async def test_the_endpoints_are_documented_in_openapi(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/statistics",
        "/api/v1/statistics/tables/{table}",
        "/api/v1/statistics/csv/{table}",
    ):
        assert "get" in paths[path], path
    csv_op = paths["/api/v1/statistics/csv/{table}"]["get"]
    assert "text/csv; charset=utf-8" in csv_op["responses"]["200"]["content"]
    assert {p["name"] for p in csv_op["parameters"]} >= {"table", "level", "from", "to"}
    level = next(p for p in csv_op["parameters"] if p["name"] == "level")
    assert "catchment" in str(level["schema"])


async def test_the_page_gives_the_release_time_in_norwegian_time(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    """The release of 9 November 10:00 UTC was made at 11:00 in Norway (it said "10:00 UTC")."""
    await published(session, cipher)
    html = (await client.get("/statistikk?lang=en")).text
    assert "Updated 2026-11-09 11:00." in html and "UTC" not in html


async def test_a_catchment_has_stable_table_urls_and_is_on_the_page(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    """Org A serves Bergen alone: its sign-ups are Bergen's (9 in October), at the stable URL
    of the table with level=catchment, as JSON-stat and CSV, and on the page's chooser."""
    orgs = await seed(session, cipher)
    await refresh_release(session, now=NOV)
    figures.read._NAMES.clear()  # area names are kept a minute; these organisations are new
    slug = orgs["a"].slug
    data = (await client.get("/api/v1/statistics/tables/signups?level=catchment")).json()
    assert validate_jsonstat(data)
    assert value_at(data, "2026-10", slug, "all") == (9, None)
    assert value_at(data, "2026-10", orgs["b"].slug, "all") == (None, ":")
    rows = list(
        csv.DictReader(
            io.StringIO(
                (await client.get("/api/v1/statistics/csv/signups-by-source?level=catchment")).text
            )
        )
    )
    mine = [r for r in rows if r["area_code"] == slug and r["period"] == "2026-11"]
    assert [(r["source"], r["value"]) for r in mine] == [("source:self", "11")]
    page = (await client.get(f"/statistikk?area=catchment:{slug}&month=2026-10&lang=en")).text
    assert f'value="catchment:{slug}" selected' in page
    assert re.search(r"<dt>Sign-ups</dt><dd>9</dd>", page), page


async def test_placed_and_withdrawn_per_municipality_and_catchment(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    """Bergen and org A (which serves Bergen alone): 2 placed and 2 withdrawn in October are
    suppressed, 6 placed in November and 5 withdrawn in September are shown; the same cells
    in JSON-stat, in CSV and on the page. Austrheim placed nobody in October: a zero."""
    orgs = await seed(session, cipher)
    await refresh_release(session, now=NOV)
    figures.read._NAMES.clear()  # area names are kept a minute; these organisations are new
    slug = orgs["a"].slug
    expected = {
        ("placed", "2026-10"): None,
        ("placed", "2026-11"): 6,
        ("withdrawn", "2026-10"): None,
        ("withdrawn", "2026-09"): 5,
    }
    for level, code in (("municipality", "4601"), ("catchment", slug)):
        for table in ("placed", "withdrawn"):
            url = f"/api/v1/statistics/tables/{table}?level={level}"
            data = (await client.get(url)).json()
            assert validate_jsonstat(data), url
            text = (await client.get(f"/api/v1/statistics/csv/{table}?level={level}")).text
            rows = {
                (r["period"], r["area_code"]): (r["value"], r["status"])
                for r in csv.DictReader(io.StringIO(text))
            }
            for (t, period), want in expected.items():
                if t != table:
                    continue
                status = None if want is not None else ":"
                assert value_at(data, period, code, "all") == (want, status), (url, period)
                csv_cell = ("", "suppressed") if want is None else (str(want), "")
                assert rows[(period, code)] == csv_cell, (table, level, period)
    austrheim = (await client.get("/api/v1/statistics/tables/placed?level=municipality")).json()
    assert value_at(austrheim, "2026-10", "4632", "all") == (0, None)
    bergen = (await client.get("/statistikk?area=municipality:4601&month=2026-11&lang=en")).text
    assert re.search(r"<dt>Of these, placed in a group</dt><dd>6</dd>", bergen), bergen
    october = (await client.get(f"/statistikk?area=catchment:{slug}&month=2026-10&lang=en")).text
    assert re.search(r"<dt>Of these, withdrawn</dt><dd[^>]*>hidden</dd>", october), october
