"""The group page in the clock and layout a coordinator reads: times and days in Oslo time
(they were the stored UTC: an hour early, and the day before just after midnight), and no empty
drop-down of waiting people when nobody fits (found in the README's screenshot run)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock
from integration.staff.person_support import sign_in
from integration.staff.test_group_pages import maker, world  # noqa: F401  (fixtures)


@pytest.fixture
def clock() -> FakeClock:
    """23 November 23:30 UTC: already 00:30 on the 24th in Oslo."""
    return FakeClock(now=datetime(2026, 11, 23, 23, 30, tzinfo=UTC))


async def test_times_and_days_in_oslo_time_and_no_empty_person_choice(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: FakeClock,
    world: dict[str, Any],  # noqa: F811
) -> None:
    await sign_in(client, session, clock.now, organisation_id=world["mine"]["org"].id)
    page = (await client.get(f"/ansatt/grupper/{world['mine']['group']}?lang=en")).text
    history = page.split('id="events-heading"', 1)[1]
    # Formed by the matching run at the clock's 23:30 UTC: 00:30 the next day in Oslo.
    assert "24.11.2026 00:30" in history
    assert "23.11.2026" not in history
    formed = page.split("Formed</dt><dd>", 1)[1][:10]
    assert formed == "24.11.2026"
    members = page.split('id="members-heading"', 1)[1].split("</table>", 1)[0]
    assert members.count("24.11.2026") == 5 and "23.11.2026" not in members  # joined
    # Every waiting person is in a group: the sentence, not an empty select.
    assert "Nobody on the waiting list chose this theme" in page
    assert 'id="person"' not in page
