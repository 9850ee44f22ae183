"""The sign-up form's opt-in to suggestion messages (issue 13 §2), over HTTP in-process."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import make_org
from intake.receipt import code_hash
from intake.tables import interest


def _csrf(html: str) -> str:
    m = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


async def _body(client: httpx.AsyncClient, lang: str, **fields: Any) -> dict[str, Any]:
    page = await client.get("/meld-interesse", params={"lang": lang})
    body: dict[str, Any] = {
        "_csrf_token": _csrf(page.text),
        "lang": lang,
        "municipality": "4601",
        "themes": ["sorg"],
        "age_band": "33-37",
        "languages": ["no"],
        "availability": ["tue-evening"],
        "consent": "yes",
        "consent_version": "2026-11-v1",
    }
    body.update(fields)
    return body


async def test_the_box_is_offered_unticked_and_described(client: httpx.AsyncClient) -> None:
    html = (await client.get("/meld-interesse", params={"lang": "en"})).text
    box = re.search(r'<input[^>]*id="suggestion_messages"[^>]*>', html)
    assert box and "checked" not in box.group(0)
    assert 'aria-describedby="suggestion_messages-desc"' in box.group(0)
    assert "at most once a month" in html and "valid for 14 days" in html


async def test_ticked_with_a_contact_is_stored_in_the_page_language(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_org(session, ("4601",))
    body = await _body(client, "nn", email="kari@example.no", suggestion_messages="yes")
    r = await client.post("/meld-interesse", data=body)
    assert r.status_code == 200, r.text[:400]
    code = re.search(r'id="receipt-code"[^>]*>([^<]+)<', r.text)
    assert code
    row = (
        await session.execute(
            select(interest.c.suggestion_messages, interest.c.suggestion_language).where(
                interest.c.receipt_hash == code_hash(code.group(1))
            )
        )
    ).one()
    assert tuple(row) == (True, "nn")


async def test_ticked_without_a_contact_says_so_next_to_the_box_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_org(session, ("4601",))
    before = await session.scalar(select(func.count()).select_from(interest))
    r = await client.post(
        "/meld-interesse", data=await _body(client, "en", suggestion_messages="yes")
    )
    assert r.status_code == 422
    assert 'id="suggestion_messages-error"' in r.text
    assert "give an e-mail address or a mobile number above, or untick the box" in r.text
    assert 'href="#suggestion_messages"' in r.text  # in the error summary, linked
    assert re.search(r'id="suggestion_messages"[^>]*checked', r.text), "the tick is kept"
    assert await session.scalar(select(func.count()).select_from(interest)) == before
    # With a second problem in the same round, both are named at once.
    r = await client.post(
        "/meld-interesse",
        data=await _body(client, "en", suggestion_messages="yes", availability=[]),
    )
    assert r.status_code == 422
    assert 'id="suggestion_messages-error"' in r.text and 'id="availability-error"' in r.text
