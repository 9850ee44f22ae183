"""What a release is built from and what it yields (:mod:`figures.release`): the geography,
the anonymous counts, the published cell, and the garbage collector's pause during a build.
Split from ``figures.release`` to keep modules short; pure.
"""

from __future__ import annotations

import gc
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from figures.catalogue import NATION

_PAUSE_LOCK = threading.Lock()
#: [number of pauses under way, whether the collector ran before the first of them]
_PAUSES: list[int] = [0, 0]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Building a release makes millions of small, acyclic objects (tuples, dicts of cells);
    the cyclic garbage collector would walk them again and again for nothing (measured on the
    bench's release: 1.5–4 s of a 5.5–10 s build). Paused for the build, restored after the
    last of any overlapping pauses (the collector is one for the whole process)."""
    with _PAUSE_LOCK:
        if _PAUSES[0] == 0:
            _PAUSES[1] = int(gc.isenabled())
            gc.disable()
        _PAUSES[0] += 1
    try:
        yield
    finally:
        with _PAUSE_LOCK:
            _PAUSES[0] -= 1
            if _PAUSES[0] == 0 and _PAUSES[1]:
                gc.enable()


Area = tuple[str, str]
#: The region of counts whose municipality the registry no longer knows (not a real region:
#: its cells are stored, and the pages and the API, which list real regions, never show them).
UNKNOWN = "unknown"
#: (measure, category, area kind, area code)
Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class Geography:
    """Municipality → county → region, as in the registry at refresh time."""

    county_of: Mapping[str, str]
    region_of: Mapping[str, str]  # county number → region slug
    #: Catchment (organisation slug) → its municipalities; a municipality may be in several.
    catchments: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Catchment → the organisation's region (the catchment's ``parent`` in the release).
    catchment_region: Mapping[str, str] = field(default_factory=dict)
    _chains: dict[str, tuple[Area, ...]] = field(default_factory=dict, compare=False, repr=False)
    _parents: dict[Area, Area | bool | None] = field(
        default_factory=dict, compare=False, repr=False
    )
    _in_catchments: dict[str, tuple[str, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _areas: dict[tuple[str, frozenset[str]], tuple[Area, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def chain(self, municipality: str) -> tuple[Area, ...]:
        """The municipality and every area above it (cached: called once per count)."""
        found = self._chains.get(municipality)
        if found is None:
            county = self.county_of.get(municipality)
            found = (
                # A municipality no longer in the registry (merged since its tallies were
                # written) still counts for the nation, through a region of its own so the
                # nation stays the sum of its regions.
                (("region", UNKNOWN), ("nation", NATION))
                if county is None
                else (
                    ("municipality", municipality),
                    ("county", county),
                    ("region", self.region_of[county]),
                    ("nation", NATION),
                )
            )
            self._chains[municipality] = found
        return found

    def areas(self, municipality: str, levels: frozenset[str]) -> tuple[Area, ...]:
        """The areas of ``levels`` a municipality's counts go to: its chain, and its catchments
        if ``catchment`` is among the levels (cached: called for every count)."""
        found = self._areas.get((municipality, levels))
        if found is None:
            found = tuple(a for a in self.chain(municipality) if a[0] in levels)
            if "catchment" in levels:
                found += tuple(("catchment", c) for c in self.catchments_of(municipality))
            self._areas[(municipality, levels)] = found
        return found

    def catchments_of(self, municipality: str) -> tuple[str, ...]:
        """The catchments a municipality is part of (cached)."""
        found = self._in_catchments.get(municipality)
        if found is None:
            if not self._in_catchments and self.catchments:
                index: dict[str, list[str]] = defaultdict(list)
                for slug, munis in sorted(self.catchments.items()):
                    for m in munis:
                        index[m].append(slug)
                self._in_catchments.update({m: tuple(v) for m, v in index.items()})
                return self._in_catchments.get(municipality, ())
            return ()
        return found

    def parent(self, area: Area) -> Area | None:
        """The area one level up (cached: asked for every cell of a release)."""
        found = self._parents.get(area, False)
        if found is False:
            found = self._parent(area)
            self._parents[area] = found
        return found  # type: ignore[return-value]

    def _parent(self, area: Area) -> Area | None:
        kind, code = area
        if kind == "municipality":
            return ("county", self.county_of[code])
        if kind == "county":
            return ("region", self.region_of[code])
        if kind == "catchment":
            region = self.catchment_region.get(code)
            return ("region", region) if region else ("nation", NATION)
        if kind == "region":
            return ("nation", NATION)
        return None


class PeopleCounts(NamedTuple):
    """One cell's people (a named tuple: a release reads a quarter of a million of them)."""

    signups: int = 0
    placed: int = 0
    withdrawn: int = 0
    unmet: int = 0
    #: Erased when their registration lapsed (never a live row; from the tallies only).
    lapsed: int = 0


@dataclass
class Inputs:
    """Everything a release is computed from (see :mod:`figures.aggregate`)."""

    geography: Geography
    #: (month, municipality, category) → counts; category 'all', 'theme:x', 'language:x',
    #: 'source:x', 'age:x'. Erased people are included through their tallies.
    people: dict[tuple[str, str, str], PeopleCounts] = field(default_factory=dict)
    #: (municipality, category) → waiting now; category 'all', 'theme:x', 'language:x',
    #: 'source:x' or 'age:x'.
    waiting: dict[tuple[str, str], int] = field(default_factory=dict)
    #: municipality → waiting now with no active facilitator for any of their themes.
    no_facilitator: dict[str, int] = field(default_factory=dict)
    #: (month, municipality, catchment slug or None) → weeks from sign-up to placement.
    waits: dict[tuple[str, str, str | None], Counter[int]] = field(default_factory=dict)
    #: (month, catchment slug, the organisation's region slug or None, the group's home
    #: municipality or None) → groups by state.
    groups: dict[tuple[str, str, str | None, str | None], Counter[str]] = field(
        default_factory=dict
    )


class Cell(NamedTuple):
    """A published cell, in the order of ``stat_cell``'s columns after ``release_id`` (a named
    tuple: a release has a quarter of a million of them, and a tuple is made in a third of
    the time of a frozen dataclass)."""

    table_id: str
    period: str
    area_kind: str
    area_code: str
    parent: str | None
    category: str
    value: int | None
    suppressed: bool
