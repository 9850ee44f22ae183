"""groups: the municipality a group belongs to, for the statistics

Revision ID: 0029_group_municipality
Revises: 0028_outbox_more
Create Date: 2026-12-08 00:00:00

``start_group.municipality_number``: the group's *home municipality*, fixed when the group is
formed (``matching.service.store_plan``, the one place a group is stored, also for a group a
staff member forms by hand): the municipality where most of its members live, ties to the
lowest number, a digital group too. It is never rewritten, so erasing the members later never
moves the group to another municipality, county or region in the published figures.

A plain ``varchar(4)`` with no foreign key, as ``interest_tally.municipality_number``: the
figure outlives changes to the registry (a merged municipality).

Backfill of the groups already stored, best evidence first:

1. the members who formed the group (``joined_at`` not after the group's ``created_at``),
   then, if none of them is left, anyone who joined it later: most of them, lowest number;
2. a group none of whose members is left, of an organisation that serves exactly one
   municipality: that municipality (every member lived there);
3. otherwise NULL: the group counts for its catchment, region (the organisation's) and the
   nation, not for a county or municipality.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_group_municipality"
down_revision: str | None = "0028_outbox_more"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_FROM_MEMBERS = """
UPDATE start_group g SET municipality_number = pick.muni
FROM (
    SELECT DISTINCT ON (gm.group_id) gm.group_id, i.municipality_number AS muni
    FROM group_member gm
    JOIN start_group sg ON sg.id = gm.group_id
    JOIN interest i ON i.id = gm.interest_id
    GROUP BY gm.group_id, gm.joined_at <= sg.created_at, i.municipality_number
    ORDER BY gm.group_id, gm.joined_at <= sg.created_at DESC, count(*) DESC,
             i.municipality_number
) AS pick
WHERE pick.group_id = g.id
"""

_FROM_ONE_MUNICIPALITY_CATCHMENT = """
UPDATE start_group g SET municipality_number = c.muni
FROM (
    SELECT organisation_id, min(municipality_number) AS muni
    FROM catchment GROUP BY organisation_id HAVING count(*) = 1
) AS c
WHERE g.municipality_number IS NULL AND c.organisation_id = g.organisation_id
"""


def upgrade() -> None:
    op.add_column("start_group", sa.Column("municipality_number", sa.String(4), nullable=True))
    op.execute(_FROM_MEMBERS)
    op.execute(_FROM_ONE_MUNICIPALITY_CATCHMENT)


def downgrade() -> None:
    op.drop_column("start_group", "municipality_number")
