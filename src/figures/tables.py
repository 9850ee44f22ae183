"""Tables of the published figures: one row per release, one row per shown or suppressed cell.

The refresh job (:mod:`figures.refresh`) writes a whole release in one transaction and then
drops the older ones, so a reader always sees one consistent release: the suppression pattern
is computed for the release as a whole, and mixing cells of two releases could undo it.
Only non-zero and suppressed cells are stored; a missing cell is a published zero. Two or more
suppressed cells of the same table, period and area are stored as one row (a bundle).
"""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from intake.tables import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

stat_release = Table(
    "stat_release",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # First and last month of sign-up covered, 'YYYY-MM' (None: nothing to publish yet).
    Column("first_month", String(7)),
    Column("last_month", String(7)),
    Column("seconds", Integer, nullable=False, server_default="0"),
)

stat_cell = Table(
    "stat_cell",
    metadata,
    # No foreign key: a release is written with COPY in one go (a per-row key check would
    # cost more than the rest of the write) and dropped by the job, cells first.
    Column("release_id", Integer, nullable=False),
    # A published table (figures.catalogue.TABLES), e.g. 'signups-by-theme'.
    Column("table_id", String(40), nullable=False),
    # 'YYYY-MM' for monthly tables, 'now' for the state at the release's time.
    Column("period", String(7), nullable=False),
    Column("area_kind", String(12), nullable=False),
    Column("area_code", String(80), nullable=False),
    # The enclosing area ('county:34'), so a page can rank an area's parts in one read.
    Column("parent", String(92)),
    # 'all', 'theme:angst', 'age:18-22', 'source:referral:KID', 'median', 'started', …
    Column("category", Text, nullable=False),
    Column("value", Integer),  # None when suppressed
    Column("suppressed", Boolean, nullable=False, server_default="false"),
    # A *bundle* (category '*', value None, suppressed): the suppressed categories of one
    # area, table and period in one row instead of a row each (migration 0023). Readers expand
    # it (figures.read.expand), so every reader sees one suppressed cell per category.
    Column("suppressed_categories", ARRAY(Text)),
    # The period first: a release is built and stored one period at a time, in order, so
    # COPY appends to the key's index (migration 0023).
    PrimaryKeyConstraint(
        "release_id",
        "period",
        "table_id",
        "area_kind",
        "area_code",
        "category",
        name="pk_stat_cell",
    ),
    Index("ix_stat_cell_parent", "release_id", "table_id", "parent", "period"),
    # One area's figures across tables (the page and the staff console).
    Index("ix_stat_cell_area", "release_id", "area_kind", "area_code"),
)
