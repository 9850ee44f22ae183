"""The status page offers every change that would place a waiting person, each accepted with one
POST (the receipt code in the body, never in a URL), and a small form to widen one's choices;
every change is re-checked at once and the page shows what came of it. In-process, rolled back.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from helpers import make_org_with_facilitator, register_people
from intake.crypto import ContactCipher
from intake.tables import interest
from matching.job import MATCH_LOCK, run_matching

DAY = timedelta(days=1)


def _csrf(html: str) -> str:
    m = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert m, "form has no CSRF token"
    return m.group(1)


def _suggestion_forms(html: str) -> list[dict[str, str]]:
    """Each suggestion's one-click form: its sentence and hidden fields."""
    out = []
    for li in re.findall(r'<li class="suggestion">(.*?)</li>', html, re.S):
        text = re.search(r'id="suggestion-\d+">([^<]+)<', li)
        fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', li))
        assert text and re.search(r'action="/status/valg"', li)
        out.append({"text": text.group(1), **fields})
    return out


async def _near_miss(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any
) -> tuple[Any, str]:
    """'me' waits for a grief group on Tuesdays; three others on Wednesdays, and three others
    who speak English on Tuesdays. Matching has run once."""
    await make_org_with_facilitator(session, languages=("no", "en"), max_concurrent_starts=2)
    await register_people(
        session, cipher, clock.now, 3, days_ago=40, step=DAY, availability=["wed-evening"]
    )
    await register_people(
        session, cipher, clock.now, 3, days_ago=40, step=DAY, languages=["en"],
        availability=["tue-evening"],
    )  # fmt: skip
    [(me, code)] = await register_people(
        session, cipher, clock.now, 1, days_ago=40, availability=["tue-evening"]
    )
    await session.commit()
    maker = async_sessionmaker(bind=conn, join_transaction_mode="create_savepoint")
    assert (await run_matching(maker, now=clock.now)).groups == 0
    return me, code


async def test_every_suggestion_has_a_button_and_one_click_places(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    client: httpx.AsyncClient,
) -> None:
    me, code = await _near_miss(conn, session, cipher, clock)
    token = _csrf((await client.get("/status?lang=en")).text)
    page = await client.post("/status", data={"_csrf_token": token, "code": code, "lang": "en"})
    assert page.status_code == 200
    offers = _suggestion_forms(page.text)
    assert [(o["kind"], o.get("value")) for o in offers] == [
        ("add_slot", "wed-evening"),
        ("add_language", "en"),
    ]
    assert offers[0]["text"] == (
        "If you could also meet on Wednesday evening, a group could start now."
    )
    assert all(o["code"] == code and o["lang"] == "en" for o in offers)
    # Said once, in the list with its button; the status card keeps the reason.
    assert page.text.count("If you could also meet on Wednesday evening") == 1
    assert "4 are needed" in page.text
    assert code not in re.findall(r'action="([^"]+)"', page.text).__str__()
    assert 'id="change-choices"' in page.text

    accepted = await client.post(
        "/status/valg",
        data={"_csrf_token": token, **{k: v for k, v in offers[1].items() if k != "text"}},
    )
    assert accepted.status_code == 200
    assert 'id="choices-changed"' in accepted.text
    assert "we have looked for a group for you again" in accepted.text
    assert "A group is being put together for you" in accepted.text
    assert "suggestion-list" not in accepted.text  # placed: nothing more to suggest
    row = (await session.execute(select(interest).where(interest.c.id == me))).mappings().one()
    assert row["languages"] == ["no", "en"] and row["status"] == "proposed"


async def test_the_small_form_widens_choices_and_shows_the_new_reason(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    client: httpx.AsyncClient,
) -> None:
    me, code = await _near_miss(conn, session, cipher, clock)
    token = _csrf((await client.get("/status?lang=en")).text)
    base = {"_csrf_token": token, "code": code, "lang": "en"}

    empty = await client.post("/status/valg", data=base)
    assert empty.status_code == 400
    assert 'id="add_slot-error"' in empty.text and "Choose at least one change" in empty.text
    assert re.search(r'class="ds-error-summary".*href="#add_slot"', empty.text, re.S)

    bogus = await client.post("/status/valg", data={**base, "add_slot": "tue-night"})
    assert bogus.status_code == 400 and "not one we can make" in bogus.text

    # Sunday morning and a digital group place nobody here: saved, re-checked, still waiting.
    widened = await client.post(
        "/status/valg", data={**base, "add_slot": "sun-morning", "welcome_digital": "yes"}
    )
    assert widened.status_code == 200
    assert "we have looked for a group for you again" in widened.text
    assert "You are on the waiting list" in widened.text
    assert [o["kind"] for o in _suggestion_forms(widened.text)] == ["add_slot", "add_language"]
    assert 'value="sun-morning"' not in widened.text  # no longer offered in the form
    assert 'id="welcome_digital"' not in widened.text
    row = (await session.execute(select(interest).where(interest.c.id == me))).mappings().one()
    assert row["slots"] == ["tue-evening", "sun-morning"] and row["digital_welcome"]

    same = await client.post("/status/valg", data={**base, "kind": "welcome_digital"})
    assert same.status_code == 200 and "nothing was changed" in same.text


async def test_no_change_once_in_a_group_and_unknown_codes(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    client: httpx.AsyncClient,
) -> None:
    me, code = await _near_miss(conn, session, cipher, clock)
    await session.execute(interest.update().where(interest.c.id == me).values(status="proposed"))
    await session.commit()
    token = _csrf((await client.get("/status?lang=en")).text)
    base = {"_csrf_token": token, "lang": "en"}
    late = await client.post("/status/valg", data={**base, "code": code, "kind": "welcome_digital"})
    assert late.status_code == 400
    assert "only be changed while you wait" in late.text
    assert 'id="change-choices"' not in late.text
    unknown = await client.post(
        "/status/valg", data={**base, "code": "22222-22222", "kind": "welcome_digital"}
    )
    assert unknown.status_code == 404 and 'id="code-error"' in unknown.text


async def test_a_change_while_a_run_is_busy_promises_the_next_run(
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    client: httpx.AsyncClient,
    engine: AsyncEngine,
) -> None:
    await make_org_with_facilitator(session)
    [(_, code)] = await register_people(session, cipher, clock.now, 1, availability=["tue-evening"])
    await session.commit()
    token = _csrf((await client.get("/status?lang=en")).text)
    async with engine.connect() as other:  # another replica's run holds the lock
        assert await other.scalar(select(func.pg_try_advisory_lock(MATCH_LOCK)))
        try:
            page = await client.post(
                "/status/valg",
                data={"_csrf_token": token, "code": code, "lang": "en", "kind": "welcome_digital"},
            )
        finally:
            await other.execute(select(func.pg_advisory_unlock(MATCH_LOCK)))
    assert page.status_code == 200
    assert "at the next matching run" in page.text
