"""The privacy page says what the suggestion messages do, with the code's own figures."""

from __future__ import annotations

import httpx

from intake import nudges


async def test_privacy_page_quotes_the_interval_link_lifetime_and_how_to_stop(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/personvern", params={"lang": "en"})).text
    assert 'id="suggestion-messages"' in html
    assert f"at most one every {nudges.INTERVAL.days} days" in html
    assert f"Its link works for {nudges.LINK_VALID.days} days" in html
    assert "stops these messages at once" in html
    assert "Withdrawing deletes all of it" in html
    assert "a scrambled form of its link and the changes it offered" in html
