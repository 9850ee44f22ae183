"""The public registration's hot path (issue 12, ``intake.api_hot.HotRegistration``): a valid
request is served beside Litestar's request pipeline, anything else by Litestar's handling of
the route, and a client cannot tell which: the same status, headers and body either way, the
same problems, the same metrics, the same OpenAPI operation."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import interest_body, make_org
from intake import api
from intake.schemas import InterestIn
from intake.tables import idempotency_key, interest
from samhjelp.app import Services, create_app


@pytest.fixture
def handler_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each time Litestar's route handler (the generic path) registers, a True."""
    calls: list[bool] = []
    real = api.register_public

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(True)
        return await real(*args, **kwargs)

    monkeypatch.setattr(api, "register_public", counted)
    return calls


def _generic_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every body fail the one-pass validation: the hot path hands the request to
    Litestar, whose JsonBody then validates it the generic way and the handler runs."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ValidationError.from_exception_data("InterestIn", [])

    monkeypatch.setattr(InterestIn, "model_validate_json", refuse)


def _seen(resp: httpx.Response) -> tuple[int, list[tuple[str, str]], Any]:
    """The whole answer, the receipt code and time aside (new in each registration)."""
    body = resp.json()
    if resp.status_code == 201:
        body = {k: v for k, v in body.items() if k not in ("receipt_code", "waiting_since")}
    headers = [(k, v) for k, v in resp.headers.multi_items() if k != "content-length"]
    return resp.status_code, headers, body


CASES: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("plain", {}, {}),
    ("email", {"contact": {"email": "kari@example.no"}}, {}),
    ("phone, nynorsk", {"contact": {"phone": "+47 912 34 567"}}, {"Accept-Language": "nn"}),
    ("bokmål", {}, {"Accept-Language": "nb-NO,nb;q=0.9"}),
    ("english", {}, {"Accept-Language": "en"}),
    ("unknown municipality", {"municipality": "9998"}, {}),
    ("unknown theme", {"themes": ["nope"]}, {}),
    ("not serving", {"organisation": "nobody"}, {}),
    ("unknown consent text", {"consent": {"given": True, "text_version": "x"}}, {}),
    ("unknown referral code", {"referral_code": "NOPE-NOPE"}, {}),
]


def _post(client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.post("/api/v1/interests", json=body, headers=headers)


@pytest.mark.parametrize(("name", "change", "headers"), CASES, ids=[c[0] for c in CASES])
async def test_the_same_answer_as_the_route_handler(
    client: httpx.AsyncClient,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    handler_calls: list[bool],
    name: str,
    change: dict[str, Any],
    headers: dict[str, str],
) -> None:
    await make_org(session, ("4601",), name="Org Hot")
    hot = await _post(client, interest_body(**change), headers)
    assert handler_calls == []
    _generic_only(monkeypatch)
    generic = await _post(client, interest_body(**change), headers)
    assert handler_calls == [True]
    assert _seen(hot) == _seen(generic)


async def test_keys_replays_and_conflicts_are_the_same(
    client: httpx.AsyncClient,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    handler_calls: list[bool],
) -> None:
    await make_org(session, ("4601",))

    async def run() -> list[httpx.Response]:
        key = str(uuid.uuid4())
        with_key = {"Idempotency-Key": key}
        first = await _post(client, interest_body(), with_key)
        again = await _post(client, interest_body(), with_key)
        other = await _post(client, interest_body(themes=["angst"]), with_key)
        assert first.json() == again.json()
        assert again.headers["idempotent-replayed"] == "true"
        return [first, again, other]

    hot = await run()
    assert handler_calls == []
    _generic_only(monkeypatch)
    generic = await run()
    assert len(handler_calls) == 3
    assert [r.status_code for r in hot] == [r.status_code for r in generic] == [201, 201, 409]
    assert [_seen(r) for r in hot] == [_seen(r) for r in generic]
    # Two interests stored, one per key; the keys hold their first answers.
    assert await session.scalar(select(func.count()).select_from(interest)) == 2
    assert await session.scalar(select(func.count()).select_from(idempotency_key)) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"Idempotency-Key": "short"},
        {"Idempotency-Key": "a" * 40},
        {"Idempotency-Key": ""},
    ],
)
async def test_a_bad_key_is_answered_by_the_route_handler(
    client: httpx.AsyncClient, session: AsyncSession, headers: dict[str, str]
) -> None:
    await make_org(session, ("4601",))
    resp = await _post(client, interest_body(), headers)
    assert resp.status_code in (400, 422), resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert await session.scalar(select(func.count()).select_from(interest)) == 0


async def _asgi_post(
    services: Services, messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes]:
    """POST /api/v1/interests straight through ASGI, the body in the given messages."""
    app = create_app(services)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/v1/interests", "raw_path": b"/api/v1/interests",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1), "server": ("t", 80),
        "headers": [(b"host", b"t"), (b"content-type", b"application/json"), *headers],
        "state": {},
    }  # fmt: skip
    pending = list(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def _chunks(raw: bytes, size: int) -> Iterator[dict[str, Any]]:
    parts = [raw[i : i + size] for i in range(0, len(raw), size)]
    for i, part in enumerate(parts):
        yield {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}


async def test_a_body_in_pieces_and_odd_lengths(
    services: Services, session: AsyncSession, handler_calls: list[bool]
) -> None:
    await make_org(session, ("4601",))
    raw = json.dumps(interest_body()).encode()
    length = (b"content-length", str(len(raw)).encode())
    status, _ = await _asgi_post(services, list(_chunks(raw, 7)), [length])
    assert (status, handler_calls) == (201, [])
    # A Content-Length that is not the body's, or two of them: Litestar's handling decides.
    status, _ = await _asgi_post(services, list(_chunks(raw, 50)), [(b"content-length", b"3")])
    assert (status, handler_calls) == (201, [True])
    status, _ = await _asgi_post(services, list(_chunks(raw, 50)), [length, length])
    assert (status, handler_calls) == (201, [True, True])
    # The client went away before the body was whole: nothing is stored.
    status, _ = await _asgi_post(services, list(_chunks(raw, 50))[:1], [length])
    assert status >= 400
    assert len(handler_calls) == 2
    assert await session.scalar(select(func.count()).select_from(interest)) == 3


async def test_an_error_in_the_work_is_counted_under_its_status(
    services: Services, session: AsyncSession
) -> None:
    await make_org(session, ("4601",))
    transport = httpx.ASGITransport(app=create_app(services))
    line = (
        'litestar_requests_total{app_name="samhjelp",method="POST",'
        'path="/api/v1/interests",status_code="422"} '
    )

    def count(text: str) -> float:
        found = [row for row in text.splitlines() if row.startswith(line)]
        return float(found[0].rsplit(" ", 1)[1]) if found else 0.0

    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        before = (await client.get("/metrics")).text
        resp = await client.post("/api/v1/interests", json=interest_body(municipality="9998"))
        assert resp.status_code == 422, resp.text
        assert resp.json()["errors"][0]["field"] == "municipality"
        after = (await client.get("/metrics")).text
    assert count(after) == count(before) + 1


async def test_the_route_is_documented_as_before(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/schema/openapi.json")).json()["paths"]["/api/v1/interests"]
    assert set(operation) == {"post"}
    post = operation["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InterestIn"
    }
    assert set(post["responses"]) == {"201", "400", "409", "413", "415", "422", "429"}
    assert post["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Registered"
    }
    [key] = post["parameters"]
    assert (key["name"], key["in"], key["required"]) == ("Idempotency-Key", "header", False)
    assert key["schema"]["pattern"] == "^[A-Za-z0-9_-]{22,128}$"
    assert post["operationId"] == "ApiV1InterestsRegister"
