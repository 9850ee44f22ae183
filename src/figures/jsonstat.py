"""Open-data formats of a cube: JSON-stat 2.0 (the format Statistics Norway publishes) and CSV.

A suppressed cell is ``null`` in the value array with the status ``":"`` (the symbol Statistics
Norway and Eurostat use for confidential figures), explained in the dataset's extension; in CSV
its value is empty and its status ``suppressed``. A missing cell of the release is a published
zero and is written as 0.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from figures.catalogue import SNAPSHOT
from figures.read import Cube
from intake.disclosure import THRESHOLD

SUPPRESSED = ":"
STATUS_TEXT = (
    f"suppressed: fewer than {THRESHOLD} people, or hidden with such a cell so that it "
    "cannot be worked out from totals or other published figures"
)
SOURCE = "samhjelp (anonymous counts of sign-ups to self-help groups)"


def _period_label(period: str, updated: datetime) -> str:
    return f"{updated:%Y-%m-%d}" if period == SNAPSHOT else period


def to_jsonstat(cube: Cube, *, level: str, updated: datetime, href: str) -> dict[str, Any]:
    """A JSON-stat 2.0 dataset, row-major over (period, area, category)."""
    t = cube.table
    values: list[int | None] = []
    status: dict[str, str] = {}
    for period in cube.periods:
        for code, _ in cube.areas:
            for cat in cube.categories:
                v = cube.get(period, code, cat)
                if v.suppressed:
                    status[str(len(values))] = SUPPRESSED
                values.append(v.value)
    dims = {
        "period": {
            "label": "month of sign-up" if t.monthly else "time of the release",
            "category": {
                "index": {p: i for i, p in enumerate(cube.periods)},
                "label": {p: _period_label(p, updated) for p in cube.periods},
            },
        },
        "area": {
            "label": level,
            "category": {
                "index": {code: i for i, (code, _) in enumerate(cube.areas)},
                "label": dict(cube.areas),
            },
        },
        t.dimension: {
            "label": t.dimension,
            "category": {
                "index": {c: i for i, c in enumerate(cube.categories)},
                "label": {c: c.split(":", 1)[-1] for c in cube.categories},
            },
        },
    }
    return {
        "version": "2.0",
        "class": "dataset",
        "href": href,
        "label": t.title,
        "source": SOURCE,
        "updated": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "id": ["period", "area", t.dimension],
        "size": [len(cube.periods), len(cube.areas), len(cube.categories)],
        "role": {"time": ["period"], "geo": ["area"]},
        "dimension": dims,
        "value": values,
        "status": status,
        "note": [f"Unit: {t.unit}.", f"Status '{SUPPRESSED}': {STATUS_TEXT}."],
        "extension": {
            "table": t.id,
            "unit": t.unit,
            "status": {SUPPRESSED: STATUS_TEXT},
            "protected": t.protected,
        },
    }


def to_csv(cube: Cube, *, level: str, updated: datetime) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        [
            "table",
            "period",
            "area_kind",
            "area_code",
            "area_name",
            cube.table.dimension,
            "value",
            "status",
        ]
    )
    for period in cube.periods:
        for code, name in cube.areas:
            for cat in cube.categories:
                v = cube.get(period, code, cat)
                w.writerow(
                    [
                        cube.table.id,
                        _period_label(period, updated),
                        level,
                        code,
                        name,
                        cat,
                        "" if v.value is None else v.value,
                        "suppressed" if v.suppressed else "",
                    ]
                )
    return out.getvalue()
