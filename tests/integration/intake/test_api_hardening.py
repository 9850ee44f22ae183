"""Issue 8 ("Trust"): idempotency that cannot leak receipts, JSON only, strict input, and an
API contract (OpenAPI) that says what the API really answers. Each test fails on the code
before the fix."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import interest_body, make_key, make_org
from intake.consent import CURRENT_VERSION, TEXTS
from intake.reference import LANGUAGES, THEMES
from intake.schemas import AGE_BANDS, SLOTS
from intake.tables import interest

PROBLEM = "application/problem+json"


async def count_interests(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(interest))).scalar_one())


def is_problem(resp: Any, status: int) -> bool:
    return (
        resp.status_code == status
        and resp.headers["content-type"].startswith(PROBLEM)
        and resp.json()["status"] == status
    )


# --- 1. Idempotency keys -------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["1", "retry-123", "a" * 40, "0" * 32, "1212121212121212121212", "has space" * 4]
)
async def test_guessable_idempotency_keys_are_refused(
    client: Any, session: AsyncSession, key: str
) -> None:
    """Before: anyone sending `Idempotency-Key: 1` with someone's body got their receipt."""
    await make_org(session)
    resp = await client.post(
        "/api/v1/interests", json=interest_body(), headers={"Idempotency-Key": key}
    )
    assert is_problem(resp, 422), resp.text
    assert "Idempotency-Key" in resp.text
    assert await count_interests(session) == 0


async def test_another_client_guessing_a_short_key_gets_no_receipt(
    client: Any, session: AsyncSession
) -> None:
    await make_org(session)
    body = interest_body()  # the same body: a common choice on a simple form
    victim = await client.post("/api/v1/interests", json=body, headers={"Idempotency-Key": "1"})
    attacker = await client.post("/api/v1/interests", json=body, headers={"Idempotency-Key": "1"})
    assert attacker.status_code == 422
    assert "receipt_code" not in attacker.text
    assert victim.status_code == 422


async def test_strong_keys_replay_to_the_same_client(client: Any, session: AsyncSession) -> None:
    await make_org(session)
    body = interest_body()
    for key in (str(uuid.uuid4()), uuid.uuid4().hex, "Zq3_kP9-xT2mB7vR4nW8yL"):
        headers = {"Idempotency-Key": key}
        first = await client.post("/api/v1/interests", json=body, headers=headers)
        again = await client.post("/api/v1/interests", json=body, headers=headers)
        assert first.status_code == again.status_code == 201, first.text
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.json()["receipt_code"] == first.json()["receipt_code"]
    assert await count_interests(session) == 3


async def test_two_api_keys_with_the_same_idempotency_key_get_their_own_answers(
    client: Any, session: AsyncSession
) -> None:
    org = await make_org(session)
    one, other = await make_key(session, org, "staff"), await make_key(session, org, "staff")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = interest_body()
    first = await client.post("/api/v1/staff/interests", json=body, headers=one | key)
    second = await client.post("/api/v1/staff/interests", json=body, headers=other | key)
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert first.json()["receipt_code"] != second.json()["receipt_code"]
    assert await count_interests(session) == 2
    # An anonymous caller with the same key and body is a third scope again.
    third = await client.post("/api/v1/interests", json=body, headers=key)
    assert third.status_code == 201 and "idempotent-replayed" not in third.headers
    assert third.json()["receipt_code"] not in (
        first.json()["receipt_code"],
        second.json()["receipt_code"],
    )


# --- 2. JSON only ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", ""],
)
async def test_the_json_api_accepts_only_application_json(
    client: Any, session: AsyncSession, content_type: str
) -> None:
    """A text/plain POST needs no CORS preflight: any web page could send it cross-site."""
    await make_org(session)
    headers = {"Content-Type": content_type} if content_type else {}
    resp = await client.post(
        "/api/v1/interests", content=json.dumps(interest_body()), headers=headers
    )
    assert is_problem(resp, 415), resp.text
    assert await count_interests(session) == 0
    ok = await client.post(
        "/api/v1/interests",
        content=json.dumps(interest_body()),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 201


# --- 3. Strict input -------------------------------------------------------------------------


async def test_nul_anywhere_is_a_400_never_a_500(client: Any, session: AsyncSession) -> None:
    await make_org(session)
    staff = await make_key(session, await make_org(session, ("0301",)), "staff")
    for path, params in [
        ("/api/v1/municipalities", {"q": "\x00"}),
        ("/api/v1/municipalities", {"q": "berg\x00en"}),
        ("/api/v1/interests/ABCD%00EFGH", {}),
        ("/api/v1/staff/interests", {"lang": "\x00"}),
    ]:
        resp = await client.get(path, params=params, headers=staff)
        assert is_problem(resp, 400), (path, resp.status_code, resp.text)
    body = await client.post("/api/v1/interests", json=interest_body(referral_code="AB\x00CD"))
    assert is_problem(body, 400), body.text
    nested = await client.post(
        "/api/v1/interests", json=interest_body(consent={"given": True, "text_version": "\x00"})
    )
    assert is_problem(nested, 400)
    page = await client.get("/henvisning/%00/plakat")
    assert page.status_code == 400
    form = await client.post(
        "/meld-interesse",
        content=b"municipality=46%0001",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 400
    assert await count_interests(session) == 0


async def test_deeply_nested_json_is_400(client: Any, session: AsyncSession) -> None:
    await make_org(session)
    deep = "[" * 5000 + "]" * 5000
    resp = await client.post(
        "/api/v1/interests",
        content=('{"municipality": "4601", "themes": ' + deep + "}").encode(),
        headers={"Content-Type": "application/json"},
    )
    assert is_problem(resp, 400), resp.text
    assert "nested" in resp.json()["detail"]


async def test_limit_and_offset_are_bounded(client: Any, session: AsyncSession) -> None:
    staff = await make_key(session, await make_org(session), "staff")
    for params in ({"offset": 10**12}, {"offset": -1}, {"limit": 10**6}, {"limit": 0}):
        resp = await client.get("/api/v1/staff/interests", params=params, headers=staff)
        assert is_problem(resp, 422), (params, resp.status_code)
    ok = await client.get("/api/v1/staff/interests", params={"offset": 1000}, headers=staff)
    assert ok.status_code == 200 and ok.json() == []


@pytest.mark.parametrize("given", ["true", 1, "yes", "on"])
async def test_consent_must_be_a_json_true(
    client: Any, session: AsyncSession, given: object
) -> None:
    await make_org(session)
    body = interest_body(consent={"given": given, "text_version": CURRENT_VERSION})
    resp = await client.post("/api/v1/interests", json=body)
    assert is_problem(resp, 422)
    assert resp.json()["errors"][0]["field"].startswith("consent")
    assert await count_interests(session) == 0


@pytest.mark.parametrize(
    "contact",
    [
        {"email": "kari\u200b@example.no"},  # zero-width space
        {"email": "kari@exam\u202eon.elpmaxe"},  # right-to-left override
        {"email": "kari@exa\u2066mple.no"},  # bidi isolate
        {"email": "ka\x07ri@example.no"},  # control
        {"email": "\ufeffkari@example.no"},  # byte order mark
        {"phone": "9123\x1c4567"},  # a control Python counts as whitespace
        {"phone": "912\u200d34567"},  # zero-width joiner
        {"phone": "\u200e91234567"},  # left-to-right mark
    ],
)
async def test_contact_refuses_control_bidi_and_zero_width_characters(
    client: Any, session: AsyncSession, contact: dict[str, str]
) -> None:
    await make_org(session)
    resp = await client.post("/api/v1/interests", json=interest_body(contact=contact))
    assert is_problem(resp, 422), resp.text
    assert resp.json()["errors"][0]["field"].startswith("contact")
    assert await count_interests(session) == 0


async def test_a_referral_link_cannot_end_in_the_past(
    client: Any, session: AsyncSession, clock: Any
) -> None:
    headers = await make_key(
        session, await make_org(session, (), kind="learning_mastery_service"), "referrer"
    )
    today = clock.now.date()
    for ends_on in ("2020-01-01", "2026-05-01", "9999-12-31"):
        resp = await client.post(
            "/api/v1/referral-links",
            json={"course_kind": "KID", "ends_on": ends_on},
            headers=headers,
        )
        assert is_problem(resp, 422), (ends_on, resp.status_code, resp.text)
        assert resp.json()["errors"][0]["field"] == "ends_on"
    # A course that ended last month still gets a link: its grace period is still running.
    for ends_on in (today.replace(month=today.month - 1), today):
        ok = await client.post(
            "/api/v1/referral-links",
            json={"course_kind": "KID", "ends_on": ends_on.isoformat()},
            headers=headers,
        )
        assert ok.status_code == 201, ok.text
        assert ok.json()["valid_until"] >= today.isoformat()


# --- 4. The API contract ---------------------------------------------------------------------


async def test_openapi_documents_keys_problems_and_enums(client: Any) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearer"]["description"],
    }
    assert schemes["apiKey"]["in"] == "header" and schemes["apiKey"]["name"] == "X-API-Key"

    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            secured = path.startswith(("/api/v1/staff", "/api/v1/referral"))
            assert bool(op.get("security")) == secured, (method, path)
            if secured:
                assert {"401", "403"} <= set(op["responses"]), (method, path)
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == [PROBLEM], (method, path, status)
                    ref = response["content"][PROBLEM]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Problem"
            if method in ("post", "put", "patch"):
                assert {"400", "415", "422", "429"} <= set(op["responses"]), (method, path)

    interest_in = schema["components"]["schemas"]["InterestIn"]["properties"]
    assert interest_in["age_band"]["enum"] == list(AGE_BANDS)
    assert interest_in["availability"]["items"]["enum"] == list(SLOTS)
    assert interest_in["languages"]["items"]["enum"] == list(LANGUAGES)
    assert interest_in["themes"]["items"]["enum"] == [t.slug for t in THEMES]
    consent = schema["components"]["schemas"]["Consent"]["properties"]
    assert CURRENT_VERSION in consent["text_version"]["enum"]
    assert {"2026-11-v1", "2026-12-v2", "2026-12-v3", "2026-12-v4"} <= set(
        consent["text_version"]["enum"]
    )
    assert "/api/v1/consent" in schema["paths"]
    key = next(
        p
        for p in schema["paths"]["/api/v1/interests"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    )
    assert key["in"] == "header" and "128 bits" in key["description"]


async def test_consent_text_is_discoverable(client: Any) -> None:
    resp = await client.get("/api/v1/consent")
    assert resp.status_code == 200
    got = resp.json()
    assert got["version"] == CURRENT_VERSION
    assert got["texts"] == TEXTS[CURRENT_VERSION]
    # 2026-12-v3: the words a sign-up agrees to include that the facilitator sees the contact;
    # 2026-12-v4: and no longer "kept while I wait" (a waiting registration lapses).
    assert got["version"] == "2026-12-v4"
    assert "the facilitator who starts it can see the e-mail address" in got["texts"]["en"]
    assert "It is kept while I wait." not in got["texts"]["en"]
    assert "a set time after I last show that I still want a group" in got["texts"]["en"]


async def test_api_docs_are_served_from_the_package(client: Any) -> None:
    page = await client.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp
    html = page.text
    assert "http://" not in html and "https://" not in html and "<script>" not in html
    for asset in (
        "/api/docs/swagger-ui-bundle.js",
        "/api/docs/swagger-ui.css",
        "/api/docs/init.js",
    ):
        assert f'"{asset}"' in html
        got = await client.get(asset)
        assert got.status_code == 200 and len(got.content) > 50, asset
    assert "/schema/openapi.json" in (await client.get("/api/docs/init.js")).text
    assert (await client.get("/api/docs/..%2F..%2Fsettings.py")).status_code == 404
    # Litestar's own viewers load their scripts from CDNs: none is served.
    for viewer in ("/schema/swagger", "/schema/redoc", "/schema/elements", "/schema/rapidoc"):
        assert (await client.get(viewer)).status_code == 404, viewer
