"""The public registration validates its body in one pass from the raw bytes (issue 12,
``intake.api_common.JsonBody``), and a client sees no difference: every invalid body gets the
problem the generic path gives (the staff route takes the same ``InterestIn`` through Litestar's
own decoding), and the OpenAPI request body is the same."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import interest_body, make_key, make_org
from intake.tables import interest


def _with(**changes: Any) -> bytes:
    body = interest_body()
    body.update(changes)
    return json.dumps(body).encode()


def _without(name: str) -> bytes:
    body = interest_body()
    body.pop(name)
    return json.dumps(body).encode()


#: Malformed JSON, wrong shapes, each kind of field error, nested and model-level errors,
#: what only Python-mode validation accepts ("yes", 1 and 1.0 as booleans), duplicate keys.
BODIES = [
    b"",
    b" ",
    b"null",
    b"[1]",
    b'"x"',
    b"{",
    b"{'a': 1}",
    _with()[:-1] + b', "x": 1} tail',
    b"\xff",
    b"\xef\xbb\xbf" + _with(),
    b'{"municipality": NaN}',
    _with()[:-1] + b', "organisation": "\\ud800"}',
    b"{}",
    _with(municipality=4601),
    _with(municipality="460"),
    _with(municipality=10**30),
    _with(themes="sorg"),
    _with(themes=[1]),
    _with(themes=["a"] * 6),
    _with(cross_problem_welcome="yes"),
    _with(same_gender=1.0, gender="male"),
    _with(age_band="17-21"),
    _with(gender="x"),
    _with(same_gender=True, gender=None),
    _with(languages=[]),
    _with(availability=["x"]),
    _with(availability=["tue-evening", 5]),
    _with(contact={}),
    _with(contact={"email": "bad"}),
    _with(contact="x"),
    _with(contact={"email": "a@b.no", "x": 1}),
    _with(suggestion_messages=1),
    _with(consent={"given": "true", "text_version": "2026-11-v1"}),
    _with(consent={"given": 1, "text_version": "x" * 50}),
    _without("consent"),
    _with(referral_code="x" * 30),
    _with(extra=1),
    _with(data=1),
    _with(**{"data.x": 1}),
    _with(themes=[], cross_problem_welcome=False),
    b'{"municipality": "0301", ' + _with()[1:],
]


def _problem(resp: Any) -> tuple[int, str, Any]:
    """The whole answer to an invalid body; of a registration, that it was one (the staff
    route places with the key's own organisation)."""
    if resp.status_code == 201:
        return 201, resp.headers["content-type"], None
    return resp.status_code, resp.headers["content-type"], resp.json()


@pytest.mark.parametrize("raw", BODIES, ids=range(len(BODIES)))
async def test_every_body_gets_the_answer_of_the_generic_path(
    client: Any, session: AsyncSession, raw: bytes
) -> None:
    org = await make_org(session, ("0301",))
    staff = await make_key(session, org, "staff")
    json_type = {"Content-Type": "application/json"}
    generic = await client.post("/api/v1/staff/interests", content=raw, headers=staff | json_type)
    fast = await client.post("/api/v1/interests", content=raw, headers=json_type)
    assert generic.status_code in (201, 400, 422), generic.text
    assert _problem(fast) == _problem(generic)


@pytest.mark.parametrize("name", ["db", "now", "cipher"])
async def test_a_field_named_like_a_dependency_is_a_422_not_a_500(
    client: Any, session: AsyncSession, name: str
) -> None:
    # Litestar's signature model drops errors whose key is a dependency's name, and with no
    # error left answers 500: the body validated apart from it has no such blind spot.
    await make_org(session, ("0301",))
    resp = await client.post(
        "/api/v1/interests",
        content=_with(**{name: 1}),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"] == [{"field": name, "message": "Extra inputs are not permitted"}]
    assert await session.scalar(select(func.count()).select_from(interest)) == 0


async def test_the_request_body_is_documented_as_before(client: Any) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    public = paths["/api/v1/interests"]["post"]["requestBody"]
    assert public == paths["/api/v1/staff/interests"]["post"]["requestBody"]
    assert public == {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InterestIn"}}},
        "required": True,
    }
