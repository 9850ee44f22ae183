"""Finding a municipality by name: Norwegian letters, Norwegian order, former names.

The sign-up combobox (``static/enhance.js``) and ``GET /api/v1/municipalities?q=`` must agree on
what a search finds and in which order, so the rules live here and the script mirrors them:

- Letters are compared case-insensitively but **æ, ø and å stay letters of their own**: "Bø" is
  not Bodø and "Hå" is not Hægebostad. The old spelling "aa" counts as "å" ("aal" finds Ål).
- Only a query typed entirely in ASCII also matches names with their letters folded
  ("tromso" → Tromsø), and those matches come last: someone without a Norwegian keyboard still
  finds their place, someone who typed "ø" is not offered "o".
- Ranking: exact name → name starts with the query → a word of the name starts with it →
  the name contains it; a former name (before the 2017–2020 mergers,
  ``former_municipalities.csv``) ranks one step below the same kind of match on a current
  name. Ties are broken in Norwegian alphabetical order.
- Norwegian order is a–z, then æ, ø, å (CLDR's order for nb/nn), with other accents ignored.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

FORMER_CSV = Path(__file__).with_name("former_municipalities.csv")

#: The three characters after "z" in ASCII, in this order (static/combobox.js does the same).
_COLLATE = {"æ": "{", "ø": "|", "å": "}"}
_KEEP = frozenset("æøå")
_ASCII_FOLD = str.maketrans({"ø": "o", "æ": "ae", "å": "a", "đ": "d", "ŋ": "n", "ŧ": "t"})
_WORD = re.compile(r"[\s\-/]+")


def _strip_accents(text: str) -> str:
    """Drop accents (é → e, á → a) but keep æ, ø and å as the letters they are."""
    out = []
    for ch in text:
        if ch in _KEEP:
            out.append(ch)
            continue
        base = unicodedata.normalize("NFD", ch)
        out.append("".join(c for c in base if not unicodedata.combining(c)))
    return "".join(out)


def search_form(text: str) -> str:
    """Case-folded, accents dropped, æ/ø/å kept, "aa" read as "å", spaces collapsed."""
    text = unicodedata.normalize("NFC", text).casefold().replace("aa", "å")
    return " ".join(_strip_accents(text).split())


def ascii_form(text: str) -> str:
    """The form an ASCII-only keyboard produces: every letter folded to a–z."""
    return search_form(text).translate(_ASCII_FOLD)


def sort_key(name: str) -> str:
    """Norwegian alphabetical order: a–z, then æ, ø, å; case and other accents ignored."""
    text = _strip_accents(unicodedata.normalize("NFC", name).casefold())
    return "".join(_COLLATE.get(ch, ch) for ch in text)


def county_short(county: str) -> str:
    """The Norwegian part of a multilingual county name ("Nordland - Nordlánnda" → Nordland)."""
    return county.split(" - ")[0]


@dataclass(frozen=True, slots=True)
class Place:
    """A municipality as the form and the API offer it."""

    number: str
    name: str
    county: str
    #: The name with the county where another municipality has the same name.
    label: str
    former: tuple[str, ...] = field(default=())


@cache
def former_names() -> dict[str, tuple[str, ...]]:
    """kommunenummer → names of municipalities merged into it (see db/reference/SOURCES.md)."""
    found: dict[str, list[str]] = {}
    with FORMER_CSV.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            found.setdefault(row["kommunenummer"], []).append(row["former_name"])
    return {k: tuple(sorted(v, key=sort_key)) for k, v in found.items()}


def places(rows: Iterable[tuple[str, str, str]]) -> list[Place]:
    """(number, name, county) rows → places with homonyms labelled and former names attached,
    in Norwegian order of their label."""
    rows = list(rows)
    seen: dict[str, int] = {}
    for _, name, _ in rows:
        seen[name] = seen.get(name, 0) + 1
    former = former_names()
    found = [
        Place(
            number=n,
            name=name,
            county=county_short(c),
            label=f"{name} ({county_short(c)})" if seen[name] > 1 else name,
            former=former.get(n, ()),
        )
        for n, name, c in rows
    ]
    return sorted(found, key=lambda p: (sort_key(p.label), p.number))


def _rank(query: str, name: str) -> int | None:
    """0 exact, 1 prefix, 2 word prefix, 3 contains; None when the name does not match.

    A multilingual name ("Aarborte - Hattfjelldal") counts each part as a name of its own.
    """
    best: int | None = None
    for part in [name, *name.split(" - ")] if " - " in name else [name]:
        if part == query:
            return 0
        if part.startswith(query):
            rank = 1
        elif any(w.startswith(query) for w in _WORD.split(part)):
            rank = 2
        elif query in part:
            rank = 3
        else:
            continue
        best = rank if best is None else min(best, rank)
    return best


def match(query: str, found: Sequence[Place]) -> list[Place]:
    """The places a typed query finds, best first (see the module docstring for the rules)."""
    q = search_form(query)
    if not q:
        return list(found)
    ascii_only = q.isascii()
    scored: list[tuple[tuple[int, int, str], Place]] = []
    for place in found:
        best: tuple[int, int] | None = None
        # The label too, so "Herøy (Nordland)" (a homonym as shown after a pick) finds itself.
        current = [place.name] if place.label == place.name else [place.name, place.label]
        names = [*((c, 0) for c in current), *((f, 1) for f in place.former)]
        for text, is_former in names:
            rank = _rank(q, search_form(text))
            if rank is None and ascii_only:
                folded = _rank(ascii_form(q), ascii_form(text))
                rank = None if folded is None else folded + 4
            if rank is None:
                continue
            # A former name counts one step weaker, so "berg" offers Bergen before Senja
            # (which absorbed Berg) while "Fræna" still leads to Hustadvika.
            rank += is_former
            if best is None or (rank, is_former) < best:
                best = (rank, is_former)
        if best is not None:
            scored.append(((best[0], best[1], sort_key(place.label)), place))
    scored.sort(key=lambda s: s[0])
    return [p for _, p in scored]
