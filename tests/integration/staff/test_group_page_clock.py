"""The group page in the clock and layout a coordinator reads: the history's times in Oslo time
(they were the stored UTC, an hour early in winter), and no empty drop-down of waiting people
when nobody fits (found in the README's screenshot run)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock
from integration.staff.person_support import sign_in
from integration.staff.test_group_pages import maker, world  # noqa: F401  (fixtures)


async def test_history_in_oslo_time_and_no_empty_person_choice(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: FakeClock,
    world: dict[str, Any],  # noqa: F811
) -> None:
    await sign_in(client, session, clock.now, organisation_id=world["mine"]["org"].id)
    page = (await client.get(f"/ansatt/grupper/{world['mine']['group']}?lang=en")).text
    history = page.split('id="events-heading"', 1)[1]
    # Formed by the matching run at the clock's 09:00 UTC on 23 November: 10:00 in Oslo.
    assert clock.now.hour == 9 and "23.11.2026 10:00" in history
    assert "23.11.2026 09:00" not in history
    # Every waiting person is in a group: the sentence, not an empty select.
    assert "Nobody on the waiting list chose this theme" in page
    assert 'id="person"' not in page
