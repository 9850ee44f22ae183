"""Prometheus gauges for operators: where people wait, how long placement takes, the outbox,
groups by state and the last matching run. Refreshed at each scrape of ``/metrics``.

These are operational numbers behind the metrics token, not published statistics: they are
not suppressed, and carry no area finer than a region.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import REGISTRY, Gauge
from prometheus_client.core import GaugeHistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake.tables import interest
from matching.tables import match_run, start_group
from notify.tables import outbox

WAITING = Gauge("samhjelp_waiting_by_region", "People waiting now, by region", ["region"])
OUTBOX_DEPTH = Gauge("samhjelp_outbox_queue_depth", "Outbox messages not yet sent or failed")
OUTBOX_AGE = Gauge(
    "samhjelp_outbox_oldest_age_seconds", "Age of the oldest message still waiting to be sent"
)
GROUPS = Gauge("samhjelp_groups_by_state", "Start groups by state", ["state"])
MATCH_SECONDS = Gauge(
    "samhjelp_match_run_last_duration_seconds", "Duration of the last finished matching run"
)
#: Upper bounds (weeks) of the time-to-placement histogram.
WEEK_BUCKETS = (1, 2, 4, 8, 12, 26, 52)

_WAITS = text(
    """
SELECT greatest(0, floor(extract(epoch FROM i.updated_at - i.waiting_since) / 604800))::int AS w,
       count(*) AS n
FROM interest i WHERE i.status = 'placed' GROUP BY 1
UNION ALL
SELECT value::int, sum(count) FROM interest_tally
WHERE dimension = 'wait_weeks' AND outcome = 'placed' GROUP BY 1
"""
)


class PlacementHistogram(Collector):
    """Weeks from sign-up to placement as a gauge histogram (it is a state, not events)."""

    def __init__(self) -> None:
        self.weeks: dict[int, int] = {}

    def collect(self) -> Iterator[Metric]:
        buckets = []
        total = 0
        for bound in WEEK_BUCKETS:
            buckets.append((str(bound), sum(n for w, n in self.weeks.items() if w < bound)))
        total = sum(self.weeks.values())
        buckets.append(("+Inf", total))
        yield GaugeHistogramMetricFamily(
            "samhjelp_time_to_placement_weeks",
            "People placed, by weeks from sign-up to placement (live and erased)",
            buckets=buckets,
            gsum_value=sum(w * n for w, n in self.weeks.items()),
        )


PLACEMENT = PlacementHistogram()
REGISTRY.register(PLACEMENT)


async def refresh_gauges(maker: async_sessionmaker[AsyncSession], *, now: datetime) -> None:
    """Read the numbers behind every gauge (a few grouped counts) and set them."""
    async with maker() as session:
        waiting = (
            await session.execute(
                select(interest.c.region_slug, func.count())
                .where(interest.c.status == "waiting")
                .group_by(interest.c.region_slug)
            )
        ).all()
        WAITING.clear()
        for region, n in waiting:
            WAITING.labels(region).set(n)
        pending = (
            await session.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(
                    outbox.c.status.in_(("pending", "sending"))
                )
            )
        ).one()
        OUTBOX_DEPTH.set(pending[0])
        OUTBOX_AGE.set(max(0.0, (now - pending[1]).total_seconds()) if pending[1] else 0.0)
        GROUPS.clear()
        for state, n in (
            await session.execute(
                select(start_group.c.status, func.count()).group_by(start_group.c.status)
            )
        ).all():
            GROUPS.labels(state).set(n)
        last = (
            await session.execute(
                select(match_run.c.started_at, match_run.c.finished_at)
                .where(match_run.c.finished_at.is_not(None))
                .order_by(match_run.c.finished_at.desc())
                .limit(1)
            )
        ).first()
        MATCH_SECONDS.set((last[1] - last[0]).total_seconds() if last else 0.0)
        weeks: dict[int, int] = {}
        for w, n in (await session.execute(_WAITS)).all():
            weeks[int(w)] = weeks.get(int(w), 0) + int(n)
        PLACEMENT.weeks = weeks
