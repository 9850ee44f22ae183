"""Finding a municipality by name: Norwegian letters and order, former names, homonyms."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from intake.places import FORMER_CSV, Place, match, places, search_form, sort_key

CSV = Path(__file__).resolve().parents[3] / "db" / "reference" / "kommuner_2024.csv"


@pytest.fixture(scope="module")
def everything() -> list[Place]:
    with CSV.open(encoding="utf-8") as fh:
        return places(
            (r["kommunenummer"], r["kommunenavn"], r["fylkesnavn"]) for r in csv.DictReader(fh)
        )


def first(query: str, found: list[Place]) -> str:
    return match(query, found)[0].label


@pytest.mark.parametrize(
    ("query", "expected"),
    [("Bø", "Bø"), ("bø", "Bø"), ("Hå", "Hå"), ("Ås", "Ås"), ("aal", "Ål"), ("Ål", "Ål")],
)
def test_exact_name_comes_first_and_norwegian_letters_are_not_folded(
    everything: list[Place], query: str, expected: str
) -> None:
    assert first(query, everything) == expected


def test_a_query_with_norwegian_letters_does_not_match_their_ascii_look_alikes(
    everything: list[Place],
) -> None:
    labels = [p.label for p in match("Bø", everything)]
    assert "Bodø" not in labels and "Bø" in labels
    assert "Hægebostad" not in [p.label for p in match("Hå", everything)]
    # "aal" finds Ål (å = aa) and nothing left over from an ASCII reading of it.
    aal = [p.label for p in match("aal", everything)]
    assert aal[0] == "Ål" and "Aarborte - Hattfjelldal" not in aal


def test_ascii_typing_still_finds_names_with_norwegian_letters_last(
    everything: list[Place],
) -> None:
    assert first("tromso", everything) == "Tromsø"
    assert "Ålesund" in [p.label for p in match("ales", everything)]


def test_ranking_is_exact_then_prefix_then_word_prefix_then_contains(
    everything: list[Place],
) -> None:
    labels = [p.label for p in match("Ås", everything)]
    assert labels[:2] == ["Ås", "Åseral"]  # exact, then prefix
    fjord = [p.label for p in match("fjord", everything)]
    assert fjord[0] == "Fjord"  # exact
    # word prefix ("Indre Fosen" for "fosen") before contains ("Fosnes" holds no "fosen")
    fosen = [p.label for p in match("fosen", everything)]
    assert fosen == ["Indre Fosen"]
    # contains: "Kvinesdal" has "nes" inside, after names starting with "Nes"
    nes = [p.label for p in match("nes", everything)]
    assert nes[0] == "Nes" and nes.index("Nesna") < nes.index("Kvinesdal")
    berg = [p.label for p in match("berg", everything)]
    # "Berg" is also a former name (merged into Senja): it counts after current prefixes.
    assert berg[0] == "Bergen" and berg.index("Bergen") < berg.index("Senja")


def test_former_names_find_the_municipality_they_merged_into(everything: list[Place]) -> None:
    assert first("Fræna", everything) == "Hustadvika"
    assert first("Eide", everything) == "Hustadvika"
    assert first("Nøtterøy", everything) == "Færder"
    assert first("Tjøme", everything) == "Færder"
    # A current name beats a former one: Bø (Nordland) and Bømlo come before Midt-Telemark
    # (which absorbed Bø in Telemark).
    bo = [p.label for p in match("Bø", everything)]
    assert bo[:3] == ["Bø", "Bømlo", "Midt-Telemark"]


def test_homonyms_carry_their_county(everything: list[Place]) -> None:
    labels = {p.label for p in everything}
    assert {"Herøy (Nordland)", "Herøy (Møre og Romsdal)"} <= labels
    assert {"Våler (Østfold)", "Våler (Innlandet)"} <= labels
    assert "Herøy" not in labels and "Våler" not in labels
    assert "Oslo" in labels  # only homonyms get a county
    assert first("Herøy (Nordland)", everything) == "Herøy (Nordland)"


def test_norwegian_alphabetical_order() -> None:
    names = ["Åseral", "Ørsta", "Ærø", "Aukra", "Zeta", "Ål", "Øygarden", "Aremark", "Évje"]
    assert sorted(names, key=sort_key) == [
        "Aremark",
        "Aukra",
        "Évje",
        "Zeta",
        "Ærø",
        "Ørsta",
        "Øygarden",
        "Ål",
        "Åseral",
    ]


def test_places_are_in_norwegian_order(everything: list[Place]) -> None:
    keys = [sort_key(p.label) for p in everything]
    assert keys == sorted(keys)
    innlandet = [p.label for p in everything if p.county == "Innlandet"]
    assert innlandet[-4:] == ["Øyer", "Øystre Slidre", "Åmot", "Åsnes"]


def test_search_form_keeps_norwegian_letters() -> None:
    assert search_form("  BØ ") == "bø"
    assert search_form("Aal") == "ål"
    assert search_form("Évje") == "evje"


def test_former_names_point_at_2024_municipalities_by_number_and_name() -> None:
    with CSV.open(encoding="utf-8") as fh:
        current = {r["kommunenummer"]: r["kommunenavn"] for r in csv.DictReader(fh)}
    with FORMER_CSV.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 81
    assert [r for r in rows if current.get(r["kommunenummer"]) != r["kommunenavn"]] == []
    assert len({(r["former_name"], r["former_county"]) for r in rows}) == len(rows)
