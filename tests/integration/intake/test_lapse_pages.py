"""Keeping a registration (intake.lapse): the status page shows "Kept until <date>" with a
"Keep me on the list" button, the API returns ``keep_until`` and confirms with
``POST /api/v1/interests/{code}/keep``, and the message's signed link (``/behold/<token>``)
keeps or withdraws; a forged, foreign or expired link does nothing."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from groups.lapse import run_lapse
from helpers import interest_body, make_org
from intake import nudges, pool
from intake.crypto import ContactCipher
from intake.interests import register
from intake.lapse import LapsePolicy
from intake.receipt import code_hash
from intake.schemas import InterestIn
from intake.tables import interest, interest_tally
from intake.web.views import long_date
from notify.tables import outbox
from samhjelp.app import Services

CSRF = re.compile(r'name="_csrf_token" value="([^"]*)"')
TOKEN = re.compile(r"/behold/([A-Za-z0-9_-]{28})")
OSLO = ZoneInfo("Europe/Oslo")
YEAR = LapsePolicy().after


async def _signed_up(
    session: AsyncSession, cipher: ContactCipher, when: Any, **body: Any
) -> tuple[uuid.UUID, str]:
    done = await register(
        session, InterestIn.model_validate(interest_body(**body)), cipher=cipher,
        source="self", now=when,
    )  # fmt: skip
    iid = await session.scalar(
        select(interest.c.id).where(interest.c.receipt_hash == code_hash(done.receipt_code))
    )
    assert iid is not None
    return uuid.UUID(str(iid)), done.receipt_code


async def _csrf(client: httpx.AsyncClient, path: str = "/status") -> str:
    page = await client.get(path)
    found = CSRF.search(page.text)
    assert found, page.text[:300]
    return found.group(1)


def _day(moment: Any, lang: str = "en") -> str:
    return long_date(moment.astimezone(OSLO), lang)


async def test_status_page_shows_kept_until_and_the_button_keeps_another_year(
    session: AsyncSession, cipher: ContactCipher, clock: Any, client: httpx.AsyncClient
) -> None:
    await make_org(session, ("4601",))
    signed_at = clock.now - timedelta(days=100)
    iid, code = await _signed_up(session, cipher, signed_at)
    token = await _csrf(client)
    page = await client.post("/status", data={"_csrf_token": token, "code": code, "lang": "en"})
    assert page.status_code == 200
    assert f"Kept until {_day(signed_at + YEAR)}." in page.text
    assert 'action="/status/behold"' in page.text and 'id="keep"' in page.text
    assert "we keep your registration for a year after you last showed us" in page.text
    assert "we ask you a month before" in page.text

    clock.advance(days=1)
    form = {"code": code, "lang": "en"}
    assert (await client.post("/status/behold", data=form)).status_code == 403  # no CSRF
    assert await session.scalar(select(interest.c.alive_at).where(interest.c.id == iid)) is None
    kept = await client.post("/status/behold", data={"_csrf_token": token, **form})
    assert kept.status_code == 200
    new_day = _day(clock.now + YEAR)
    assert 'id="kept"' in kept.text and f"We keep your registration until {new_day}" in kept.text
    assert f"Kept until {new_day}." in kept.text
    assert await session.scalar(select(interest.c.alive_at).where(interest.c.id == iid)) == (
        clock.now
    )


async def test_in_a_group_the_page_offers_no_keeping(
    session: AsyncSession, cipher: ContactCipher, clock: Any, client: httpx.AsyncClient
) -> None:
    await make_org(session, ("4601",))
    iid, code = await _signed_up(session, cipher, clock.now - timedelta(days=100))
    await pool.set_status(session, [iid], "proposed", now=clock.now)
    token = await _csrf(client)
    page = await client.post("/status", data={"_csrf_token": token, "code": code, "lang": "en"})
    assert "Kept until" not in page.text and 'action="/status/behold"' not in page.text
    api = (await client.get(f"/api/v1/interests/{code}")).json()
    assert api["status"] == "proposed" and api["keep_until"] is None


async def test_keep_over_the_api_with_problems_and_openapi(
    session: AsyncSession, cipher: ContactCipher, clock: Any, client: httpx.AsyncClient
) -> None:
    await make_org(session, ("4601",))
    signed_at = clock.now - timedelta(days=200)
    iid, code = await _signed_up(session, cipher, signed_at)
    status = (await client.get(f"/api/v1/interests/{code}")).json()
    assert status["keep_until"].startswith((signed_at + YEAR).date().isoformat())

    kept = await client.post(f"/api/v1/interests/{code}/keep", json={})
    assert kept.status_code == 200, kept.text
    assert kept.json()["keep_until"].startswith((clock.now + YEAR).date().isoformat())

    for unknown in ("22222-22222", "not-a-code"):
        r = await client.post(f"/api/v1/interests/{unknown}/keep", json={})
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == 404
    await pool.set_status(session, [iid], "placed", now=clock.now)
    r = await client.post(f"/api/v1/interests/{code}/keep", json={})
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "waiting" in r.json()["detail"]

    schema = (await client.get("/schema/openapi.json")).json()
    op = schema["paths"]["/api/v1/interests/{receipt_code}/keep"]["post"]
    assert {"200", "404", "409"} <= set(op["responses"])
    props = schema["components"]["schemas"]["InterestStatus"]["properties"]
    assert "keep_until" in props and "sign of life" in str(props["keep_until"])
    outcome = schema["components"]["schemas"]["ReferralOutcome"]["properties"]
    assert "lapsed" in outcome


async def _noticed(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any,
    services: Services, email: str,
) -> tuple[uuid.UUID, str]:  # fmt: skip
    """A person 340 days after sign-up, with the lapse job's message sent; returns the person
    and the link's token."""
    iid, _ = await _signed_up(
        session, cipher, clock.now - timedelta(days=340), contact={"email": email}
    )
    await session.commit()
    maker = async_sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    assert (await run_lapse(maker, services.lifecycle, LapsePolicy(), now=clock.now)).notices == 1
    body = await session.scalar(
        select(outbox.c.body_text).where(outbox.c.recipient_ref == f"interest:{iid}")
    )
    assert body is not None
    return iid, TOKEN.findall(body)[0]


async def test_the_link_keeps_and_then_stops_working(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any,
    services: Services, client: httpx.AsyncClient,
) -> None:  # fmt: skip
    await make_org(session, ("4601",))
    iid, token = await _noticed(conn, session, cipher, clock, services, "keep@example.no")
    page = await client.get(f"/behold/{token}")
    assert page.status_code == 200
    assert '<html lang="nb"' in page.text  # the language of the sign-up
    assert _day(clock.now + timedelta(days=30), "nb") in page.text
    assert page.headers["cache-control"] == "no-store"
    en = await client.get(f"/behold/{token}", params={"lang": "en"})
    assert f"deleted on {_day(clock.now + timedelta(days=30))}" in en.text
    found = CSRF.search(en.text)
    assert found

    clock.advance(days=2)
    r = await client.post(f"/behold/{token}", data={"action": "keep"})
    assert r.status_code == 403  # the CSRF token is required, as on every form
    kept = await client.post(
        f"/behold/{token}", data={"_csrf_token": found.group(1), "action": "keep", "lang": "en"}
    )
    assert kept.status_code == 200 and 'id="kept"' in kept.text
    assert _day(clock.now + YEAR) in kept.text
    row = (await session.execute(select(interest).where(interest.c.id == iid))).mappings().one()
    assert row["alive_at"] == clock.now and row["lapse_link_hash"] is None
    used = await client.get(f"/behold/{token}", params={"lang": "en"})
    assert used.status_code == 404 and 'id="link-problem"' in used.text


async def test_forged_foreign_and_expired_links_do_nothing(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any,
    services: Services, client: httpx.AsyncClient,
) -> None:  # fmt: skip
    await make_org(session, ("4601",))
    iid, token = await _noticed(conn, session, cipher, clock, services, "forge@example.no")
    csrf = await _csrf(client)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    # The same nonce signed for the other purpose (a suggestion link) is no keep link.
    sent_at = await session.scalar(select(interest.c.lapse_notice_at).where(interest.c.id == iid))
    assert sent_at is not None
    foreign = nudges.signed(services.lifecycle.link_secret, iid, sent_at, token[:12])
    for bad in (forged, foreign, token[:-3], "x" * 28):
        page = await client.get(f"/behold/{bad}")
        assert page.status_code == 404, bad
        posted = await client.post(f"/behold/{bad}", data={"_csrf_token": csrf, "action": "keep"})
        assert posted.status_code == 404 and 'id="kept"' not in posted.text
    # After the date in the message the link has expired (the job erases at that time).
    clock.advance(days=30, seconds=1)
    expired = await client.post(f"/behold/{token}", data={"_csrf_token": csrf, "action": "keep"})
    assert expired.status_code == 410 and 'id="link-problem"' in expired.text
    row = (await session.execute(select(interest).where(interest.c.id == iid))).mappings().one()
    assert row["alive_at"] is None and row["lapse_link_hash"] is not None


async def test_the_link_can_withdraw_at_once_after_asking(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any,
    services: Services, client: httpx.AsyncClient,
) -> None:  # fmt: skip
    org = await make_org(session, ("4601",))
    iid, token = await _noticed(conn, session, cipher, clock, services, "gone@example.no")
    csrf = await _csrf(client, f"/behold/{token}")
    ask = await client.post(
        f"/behold/{token}", data={"_csrf_token": csrf, "action": "withdraw", "lang": "en"}
    )
    assert ask.status_code == 200 and 'id="confirm-withdraw"' in ask.text
    assert await session.scalar(select(interest.c.id).where(interest.c.id == iid)) == iid
    done = await client.post(
        f"/behold/{token}",
        data={"_csrf_token": csrf, "action": "withdraw", "confirm": "yes", "lang": "en"},
    )
    assert done.status_code == 200 and 'id="withdrawn"' in done.text
    assert await session.scalar(select(interest.c.id).where(interest.c.id == iid)) is None
    withdrawn = await session.scalar(
        select(func.sum(interest_tally.c.count)).where(
            interest_tally.c.organisation_id == org.id,
            interest_tally.c.dimension == "all",
            interest_tally.c.outcome == "withdrawn",
        )
    )
    assert withdrawn == 1
    assert (await client.get(f"/behold/{token}")).status_code == 404
