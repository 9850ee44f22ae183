"""Opting in at sign-up to monthly suggestion messages (issue 13 §2): stored, refused without a
contact, documented, and gone with the registration."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import interest_body, make_org
from intake.receipt import code_hash
from intake.tables import interest


async def _row(session: AsyncSession, code: str) -> Any:
    return (
        await session.execute(
            select(
                interest.c.suggestion_messages,
                interest.c.suggestion_language,
                interest.c.suggestion_sent_at,
            ).where(interest.c.receipt_hash == code_hash(code))
        )
    ).first()


async def test_api_opt_in_is_stored_with_its_language(client: Any, session: AsyncSession) -> None:
    await make_org(session, ("4601",))
    body = interest_body(
        contact={"email": "ola@example.no"}, suggestion_messages=True, suggestion_language="nn"
    )
    r = await client.post("/api/v1/interests", json=body)
    assert r.status_code == 201, r.text
    row = await _row(session, r.json()["receipt_code"])
    assert row == (True, "nn", None)
    # With an Idempotency-Key (the one-trip statement) too.
    r = await client.post(
        "/api/v1/interests",
        json={**body, "suggestion_language": "en"},
        headers={"Idempotency-Key": "nudge-optin-0123456789abcdef"},
    )
    assert r.status_code == 201, r.text
    assert await _row(session, r.json()["receipt_code"]) == (True, "en", None)


async def test_default_is_no_messages(client: Any, session: AsyncSession) -> None:
    await make_org(session, ("4601",))
    r = await client.post("/api/v1/interests", json=interest_body(contact={"phone": "912 34 567"}))
    assert r.status_code == 201, r.text
    # No suggestion messages; the language is kept for the one message before the registration
    # lapses (intake.lapse), since the person left a contact.
    assert await _row(session, r.json()["receipt_code"]) == (False, "nb", None)


async def test_opt_in_without_contact_is_refused(client: Any, session: AsyncSession) -> None:
    await make_org(session, ("4601",))
    r = await client.post("/api/v1/interests", json=interest_body(suggestion_messages=True))
    assert r.status_code == 422
    assert "suggestion messages need a contact" in r.text
    # Only a JSON true is an opt-in: "yes" or 1 is not.
    for loose in ("yes", 1):
        body = interest_body(contact={"email": "a@example.no"}, suggestion_messages=loose)
        r = await client.post("/api/v1/interests", json=body)
        assert r.status_code == 422, loose
        assert "suggestion_messages" in r.text


async def test_withdrawal_erases_the_opt_in(client: Any, session: AsyncSession) -> None:
    await make_org(session, ("4601",))
    body = interest_body(contact={"email": "kari@example.no"}, suggestion_messages=True)
    code = (await client.post("/api/v1/interests", json=body)).json()["receipt_code"]
    assert (await _row(session, code))[0] is True
    assert (await client.delete(f"/api/v1/interests/{code}")).status_code == 204
    assert await _row(session, code) is None


async def test_openapi_documents_the_field(client: Any) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    props = schema["components"]["schemas"]["InterestIn"]["properties"]
    assert props["suggestion_messages"]["type"] == "boolean"
    assert "30 days" in props["suggestion_messages"]["description"]
    assert props["suggestion_language"]["enum"] == ["nb", "nn", "en"]
