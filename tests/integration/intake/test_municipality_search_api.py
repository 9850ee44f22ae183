"""GET /api/v1/municipalities?q= finds what the sign-up combobox finds (intake.places)."""

from __future__ import annotations

from typing import Any

from intake.places import sort_key


async def search(client: Any, q: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/municipalities", params={"q": q})
    assert response.status_code == 200
    return list(response.json())


async def test_norwegian_letters_are_letters_of_their_own(client: Any) -> None:
    bo = [m["name"] for m in await search(client, "Bø")]
    assert bo[0] == "Bø" and "Bodø" not in bo
    assert (await search(client, "Hå"))[0]["name"] == "Hå"
    assert "Hægebostad" not in [m["name"] for m in await search(client, "Hå")]
    assert (await search(client, "Ås"))[0]["name"] == "Ås"
    assert (await search(client, "aal"))[0]["name"] == "Ål"


async def test_former_names_find_today_s_municipality(client: Any) -> None:
    found = await search(client, "Fræna")
    assert found[0]["number"] == "1579" and found[0]["name"] == "Hustadvika"
    assert found[0]["former_names"] == ["Eide", "Fræna"]
    assert (await search(client, "Nøtterøy"))[0]["name"] == "Færder"


async def test_homonyms_are_labelled_with_their_county(client: Any) -> None:
    heroy = await search(client, "Herøy")
    assert sorted(m["label"] for m in heroy) == ["Herøy (Møre og Romsdal)", "Herøy (Nordland)"]
    assert {m["name"] for m in heroy} == {"Herøy"}


async def test_without_a_query_everything_in_norwegian_order(client: Any) -> None:
    everything = await search(client, "")
    assert len(everything) == 357
    labels = [m["label"] for m in everything]
    assert labels == sorted(labels, key=sort_key)
    assert labels.index("Ørsta") < labels.index("Ål") and labels[-1] == "Åsnes"
    assert (await search(client, "0301"))[0]["name"] == "Oslo"
