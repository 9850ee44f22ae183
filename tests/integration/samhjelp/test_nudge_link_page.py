"""The page behind a suggestion message's link (issue 13 §2): accept → choices changed and
re-checked at once; stop → no more messages; expired and tampered links get a calm page."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from helpers import make_org_with_facilitator, register_people
from intake.crypto import ContactCipher
from intake.tables import interest
from matching.job import run_matching
from notify.tables import outbox
from samhjelp.app import Services
from samhjelp.nudges import run_nudges

TOKEN = re.compile(r"/forslag/([A-Za-z0-9_-]{28})")
CSRF = re.compile(r'name="_csrf_token" value="([^"]*)"')


async def _setup(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any,
    services: Services,
) -> tuple[uuid.UUID, str]:  # fmt: skip
    """Three wait on Tuesday evenings; one more (opted in, nynorsk) only on Monday evenings:
    adding Tuesday evening places them now. Returns that person and their link's token."""
    maker = async_sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    await make_org_with_facilitator(session)
    await register_people(session, cipher, clock.now, 3, days_ago=40, availability=["tue-evening"])
    [(iid, _)] = await register_people(
        session, cipher, clock.now, 1, prefix="nudge", days_ago=30,
        availability=["mon-evening"], suggestion_messages=True, suggestion_language="nn",
    )  # fmt: skip
    await session.commit()
    assert (await run_matching(maker, now=clock.now)).groups == 0
    assert (await run_nudges(maker, services.lifecycle, now=clock.now)).sent == 1
    body = await session.scalar(
        select(outbox.c.body_text).where(outbox.c.template == "suggestion_offer")
    )
    assert body is not None
    return iid, TOKEN.findall(body)[0]


async def _person(session: AsyncSession, iid: uuid.UUID) -> Any:
    return (await session.execute(select(interest).where(interest.c.id == iid))).mappings().one()


async def test_accepting_changes_the_choices_and_rechecks_at_once(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any,
    services: Services, client: httpx.AsyncClient,
) -> None:  # fmt: skip
    iid, token = await _setup(conn, session, cipher, clock, services)
    page = await client.get(f"/forslag/{token}")
    assert page.status_code == 200
    assert '<html lang="nn"' in page.text  # the language chosen at sign-up
    assert 'name="change" value="add_slot:tue-evening"' in page.text
    assert page.headers["cache-control"] == "no-store"
    csrf = CSRF.search(page.text)
    assert csrf
    clock.advance(hours=2)
    done = await client.post(
        f"/forslag/{token}",
        data={"_csrf_token": csrf.group(1), "action": "accept", "change": "add_slot:tue-evening",
              "lang": "en"},
    )  # fmt: skip
    assert done.status_code == 200, done.text[:500]
    assert "a group is being put together with you in it" in done.text
    row = await _person(session, iid)
    assert "tue-evening" in row["slots"] and "mon-evening" in row["slots"]
    assert row["status"] == "proposed"  # the re-check placed them


async def test_only_an_offered_change_can_be_accepted_through_the_link(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any,
    services: Services, client: httpx.AsyncClient,
) -> None:  # fmt: skip
    iid, token = await _setup(conn, session, cipher, clock, services)
    page = await client.get(f"/forslag/{token}", params={"lang": "en"})
    csrf = CSRF.search(page.text)
    assert csrf
    r = await client.post(
        f"/forslag/{token}",
        data={"_csrf_token": csrf.group(1), "action": "accept", "change": "add_language:en"},
    )
    assert r.status_code == 409
    row = await _person(session, iid)
    assert row["languages"] == ["no"] and row["status"] == "waiting"
    # Without the CSRF token nothing happens either.
    r = await client.post(
        f"/forslag/{token}", data={"action": "accept", "change": "add_slot:tue-evening"}
    )
    assert r.status_code == 403
    assert (await _person(session, iid))["slots"] == ["mon-evening"]


async def test_stop_means_no_more_messages(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any,
    services: Services, client: httpx.AsyncClient,
) -> None:  # fmt: skip
    iid, token = await _setup(conn, session, cipher, clock, services)
    page = await client.get(f"/forslag/{token}", params={"lang": "en"})
    csrf = CSRF.search(page.text)
    assert csrf
    r = await client.post(
        f"/forslag/{token}", data={"_csrf_token": csrf.group(1), "action": "stop", "lang": "en"}
    )
    assert r.status_code == 200 and "we will not send you these messages again" in r.text
    row = await _person(session, iid)
    assert row["suggestion_messages"] is False and row["suggestion_link_hash"] is None
    assert row["suggestion_offer"] is None and row["status"] == "waiting"
    assert (await client.get(f"/forslag/{token}")).status_code == 404
    maker = async_sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    for days in (31, 62, 93):
        later = clock.now + timedelta(days=days)
        assert (await run_nudges(maker, services.lifecycle, now=later)).sent == 0


async def test_expired_and_tampered_links_get_a_clear_page(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any,
    services: Services, client: httpx.AsyncClient,
) -> None:  # fmt: skip
    iid, token = await _setup(conn, session, cipher, clock, services)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (tampered, token[:-1], token + "x", "A" * 22):
        r = await client.get(f"/forslag/{bad}", params={"lang": "en"})
        assert r.status_code == 404, bad
        assert "This link does not work" in r.text and 'name="change"' not in r.text
    clock.advance(days=13, hours=23)
    assert (await client.get(f"/forslag/{token}")).status_code == 200
    clock.advance(hours=1)
    r = await client.get(f"/forslag/{token}", headers={"Accept-Language": "en"})
    assert r.status_code == 410
    assert "This link has expired" in r.text and "14 days" in r.text
    assert 'name="change"' not in r.text
    # An expired link changes nothing when posted to either.
    r = await client.post(f"/forslag/{token}", data={"action": "stop"})
    assert r.status_code in (403, 410)
    assert (await _person(session, iid))["suggestion_messages"] is True


async def test_nothing_about_the_person_or_the_link_is_logged(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any,
    services: Services, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    iid, token = await _setup(conn, session, cipher, clock, services)
    page = await client.get(f"/forslag/{token}")
    csrf = CSRF.search(page.text)
    assert csrf
    await client.post(
        f"/forslag/{token}",
        data={"_csrf_token": csrf.group(1), "action": "accept", "change": "add_slot:tue-evening"},
    )
    # The service's own records (httpx is this test's client; the service runs uvicorn with
    # access_log=False).
    ours = [r for r in caplog.records if not r.name.startswith("httpx")]
    assert any(r.name == "intake.choices" for r in ours)  # the records are really captured
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in ours)
    for secret in (token, str(iid), "nudge0@example.no", "tue-evening"):
        assert secret not in logged, secret
