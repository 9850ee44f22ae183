"""The refresh writes a release's cells in the order of ``stat_cell``'s primary key (COPY then
appends to the key's index instead of inserting all over it): the same cells, only sorted."""

from __future__ import annotations

from collections import Counter

from figures.refresh import build_sorted
from figures.release import Geography, Inputs, PeopleCounts, build_release


def _inputs() -> Inputs:
    geo = Geography(
        {"4601": "46", "4602": "46", "0301": "03"},
        {"46": "vestland", "03": "oslo"},
        catchments={"org-a": ("4601", "0301")},
        catchment_region={"org-a": "vestland"},
    )
    inputs = Inputs(geography=geo)
    for month, muni, cat, n in [
        ("2026-10", "4601", "all", 9),
        ("2026-10", "4601", "age:18-22", 9),
        ("2026-10", "4602", "all", 3),
        ("2026-10", "4602", "age:18-22", 3),
        ("2026-09", "0301", "all", 12),
        ("2026-09", "0301", "age:23-27", 12),
        ("2026-09", "0301", "theme:angst", 7),
    ]:
        inputs.people[(month, muni, cat)] = PeopleCounts(n, 0, 0, 0)
    inputs.waiting[("4601", "all")] = 2
    inputs.waiting[("0301", "all")] = 8
    return inputs


_FIELDS = ("period", "table_id", "area_kind", "area_code", "category")


def key(c: object) -> tuple[str, ...]:
    return tuple(getattr(c, f) for f in _FIELDS)


def test_the_refresh_stores_the_same_cells_in_primary_key_order() -> None:
    built = build_release(_inputs())
    stored = build_sorted(_inputs())
    assert Counter(stored) == Counter(built)
    assert [key(c) for c in stored] == sorted(key(c) for c in built)
    # The bench-sized release is built month by month, so its natural order is not the key's.
    assert [key(c) for c in built] != sorted(key(c) for c in built)
    assert any(c.suppressed for c in stored)  # suppressed cells are stored too, in order


def test_worker_processes_build_the_same_release_in_the_same_order() -> None:
    """Months protected in two spawned worker processes come back identical and in key
    order (``parallel_from=0``: the small test release takes the large releases' path)."""
    inputs = _inputs()
    for month in ("2026-07", "2026-08"):  # more months than workers
        inputs.people[(month, "4601", "all")] = PeopleCounts(6, 2, 1, 0)
        inputs.people[(month, "4602", "all")] = PeopleCounts(2, 1, 0, 0)
    alone = build_sorted(inputs)
    together = build_sorted(inputs, workers=2, parallel_from=0)
    assert together == alone
    assert {c.period for c in together} == {"2026-07", "2026-08", "2026-09", "2026-10", "now"}
    assert any(c.suppressed for c in together)


def test_a_cell_is_a_stat_cell_row_after_the_release_id() -> None:
    """The refresh writes ``(release_id, *cell)``: the fields must be the table's columns."""
    from figures.refresh import _COLUMNS
    from figures.release import Cell

    assert (*Cell._fields, "suppressed_categories") == _COLUMNS[1:]


def test_suppressed_cells_of_one_area_are_stored_as_one_bundle_row() -> None:
    """Two or more suppressed cells of one table, period and area: one row listing their
    categories, before the area's other rows (``*`` sorts first), still in key order."""
    from figures.refresh import BUNDLE, stored_rows
    from figures.release import Cell

    def cell(area: str, category: str, value: int | None) -> Cell:
        return Cell(
            "signups-by-age",
            "2026-10",
            "municipality",
            area,
            "county:46",
            category,
            value,
            value is None,
        )

    part = [
        cell("4601", "age:18-22", None),
        cell("4601", "age:23-27", 7),
        cell("4601", "age:28-32", None),
        cell("4602", "age:18-22", None),  # alone: stored as it is
        cell("4602", "age:23-27", 9),
    ]
    rows = stored_rows(5, part)
    assert rows == [
        (
            5,
            "signups-by-age",
            "2026-10",
            "municipality",
            "4601",
            "county:46",
            BUNDLE,
            None,
            True,
            ["age:18-22", "age:28-32"],
        ),
        (5, *part[1], None),
        (5, *part[3], None),
        (5, *part[4], None),
    ]
    keys = [(r[2], r[1], r[3], r[4], r[6]) for r in rows]
    assert keys == sorted(keys)
