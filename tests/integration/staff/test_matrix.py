"""Role × route × organisation: 0 reads across organisations.

Every route under ``/ansatt`` and ``/api/v1/staff`` is taken from the app's own route table, so
a route added later is covered without editing this file; a route with a path parameter this
test does not know how to fill FAILS (teach ``fill`` the parameter). Three organisations: A and
A2 in Vestland, B in Oslo, each with a person waiting, a group, a facilitator, a referral link,
an API key and a staff user, all named with unique markers. Viewers: staff of A, staff of B,
the coordinators of Vestland and of Oslo, an administrator, and A's API key.

For every viewer, every organisation outside their scope and every route with parameters, the
parameters are filled with that organisation's records and each method is called. The answer
must be what an unknown id gets (same status: 403/404/405, a redirect, or 400/422 for a body
refused before any lookup; never 2xx), carry
none of that organisation's markers, and change none of its rows. List routes (no parameters)
must carry no marker of an organisation outside the viewer's scope. And the organisation's own
viewer gets 200 from every GET route filled with its own records. A second test posts every
form with the viewer's own records in the path and another organisation's ids in the body
(``person``, ``facilitator``, ``organisation`` by id and by slug, ``region`` …): that
organisation's rows must not change.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org, register_people
from intake.crypto import ContactCipher
from intake.registry import add_facilitator, create_api_key
from intake.tables import referral
from matching.tables import group_member, start_group
from samhjelp.settings import Settings
from staff_support import make_staff_user, signed_in_cookie

PARAM = re.compile(r"\{(\w+):(\w+)\}")
#: Parameters that name no organisation's record (a sign-in token, an identity provider).
NEUTRAL = {"token": "no-such-token", "slug": "no-such-provider"}
PREFIXES = ("/ansatt", "/api/v1/staff")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Hundreds of POSTs in a minute: the write limit is not what this test is about.
    return Settings(
        data_dir=tmp_path,
        public_base_url="http://testserver",
        post_rate_per_minute=1_000_000,
        scheduler_enabled=False,
    )


@dataclass
class Org:
    """One organisation's records and the strings that would betray them in a response."""

    tag: str
    id: uuid.UUID
    region: str
    municipality: str
    records: dict[str, str] = field(default_factory=dict)
    markers: list[str] = field(default_factory=list)


@dataclass
class Viewer:
    name: str
    cookies: dict[str, str]
    scope: set[str]  # tags of the organisations this viewer may read
    headers: dict[str, str] = field(default_factory=dict)
    api_only: bool = False
    #: For a coordinator's API call: name one of their own organisations (?organisation=).
    api_org: uuid.UUID | None = None


async def make_world(
    session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> dict[str, Org]:
    orgs: dict[str, Org] = {}
    for tag, muni, region in (("A", "4601", "vestland"), ("A2", "4602", "vestland"),
                              ("B", "0301", "oslo")):  # fmt: skip
        mark = f"{tag}x{uuid.uuid4().hex[:10]}"
        # The name is public (GET /api/v1/organisations, the referral form's list): no marker.
        made = await make_org(session, (muni,), name=f"Matrise {tag} {uuid.uuid4().hex[:6]}")
        org = Org(tag, made.id, region, muni)
        await session.execute(
            text("UPDATE organisation SET contact_email = :e WHERE id = :i"),
            {"e": f"kontakt-{mark.lower()}@example.no", "i": made.id},
        )
        fid = await add_facilitator(
            session, organisation_id=made.id, name=f"Igangsetter {mark}",
            email=f"igang-{mark.lower()}@example.no", themes=["sorg"],
        )  # fmt: skip
        people = [
            i for i, _ in await register_people(
                session, cipher, clock.now, 3, municipality=muni, prefix=f"p{mark.lower()}"
            )
        ]  # fmt: skip
        gid = uuid.uuid4()
        await session.execute(
            start_group.insert().values(
                id=gid, organisation_id=made.id, theme="sorg", language="no",
                slot="tue-evening", digital=False, facilitator_id=fid, status="accepted",
                rules={}, places=2,
            )
        )  # fmt: skip
        await session.execute(
            group_member.insert(),
            [{"group_id": gid, "interest_id": i, "state": "invited"} for i in people[:2]],
        )
        await session.execute(
            text("UPDATE interest SET status = 'invited' WHERE id = ANY(:ids)"),
            {"ids": people[:2]},
        )
        rid = uuid.uuid4()
        await session.execute(
            referral.insert().values(
                id=rid, code=f"M{uuid.uuid4().hex[:7].upper()}", organisation_id=made.id,
                course_kind="KID", course_name=f"Kurs {mark}", ends_on=date(2026, 12, 31),
            )
        )  # fmt: skip
        secret = await create_api_key(
            session, organisation_id=made.id, role="staff", label=f"Nokkel {mark}"
        )
        key_id = await session.scalar(
            text("SELECT id FROM api_key WHERE prefix = :p"), {"p": secret.split("_")[1]}
        )
        user = await make_staff_user(
            session, "staff", organisation_id=made.id, name=f"Ansatt {mark}"
        )
        org.records = {
            "org_id": str(made.id), "interest_id": str(people[2]), "group_id": str(gid),
            "facilitator_id": str(fid), "referral_id": str(rid), "key_id": str(key_id),
            "user_id": str(user), "number": muni, "secret": secret,
        }  # fmt: skip
        # Names and ids: any of them in a foreign viewer's response is a read across.
        org.markers = [mark, *(str(v) for v in (fid, gid, rid, key_id, user, *people))]
        orgs[tag] = org
    return orgs


async def viewers(session: AsyncSession, orgs: dict[str, Org], clock: FakeClock) -> list[Viewer]:
    async def cookie(role: str, **scope: Any) -> dict[str, str]:
        user = await make_staff_user(session, role, **scope)
        return await signed_in_cookie(session, user, now=clock.now)

    return [
        Viewer("staff A", await cookie("staff", organisation_id=orgs["A"].id), {"A"}),
        Viewer("staff B", await cookie("staff", organisation_id=orgs["B"].id), {"B"}),
        Viewer(
            "coordinator Vestland",
            await cookie("coordinator", region_slug="vestland"),
            {"A", "A2"},
            api_org=orgs["A"].id,
        ),
        Viewer("coordinator Oslo", await cookie("coordinator", region_slug="oslo"), {"B"}),
        Viewer(
            "administrator", await cookie("administrator"), {"A", "A2", "B"}, api_org=orgs["A"].id
        ),
        Viewer(
            "API key of A",
            {},
            {"A"},
            api_only=True,
            headers={"Authorization": f"Bearer {orgs['A'].records['secret']}"},
        ),
    ]


def staff_routes(app: Litestar) -> Iterator[tuple[str, list[str]]]:
    for route in app.routes:
        if route.path.startswith(PREFIXES):
            methods = sorted(
                {m for h in getattr(route, "route_handlers", []) for m in h.http_methods}
                - {"OPTIONS", "HEAD"}
            )
            yield route.path, methods


def fill(path: str, records: dict[str, str] | None) -> str:
    """The path with its parameters filled from ``records`` (None: unknown ids)."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in NEUTRAL:
            return NEUTRAL[name]
        if records is None:
            return "9999" if name == "number" else str(uuid.uuid4())
        if name not in records:
            raise LookupError(name)
        return records[name]

    return PARAM.sub(one, path)


async def fingerprint(session: AsyncSession, org_id: uuid.UUID) -> str:
    """A digest of every row that belongs to one organisation."""
    parts = []
    for sql in (
        "SELECT row_to_json(o)::text FROM organisation o WHERE id = :o",
        "SELECT row_to_json(c)::text FROM catchment c WHERE organisation_id = :o",
        "SELECT row_to_json(i)::text FROM interest i WHERE organisation_id = :o",
        "SELECT row_to_json(g)::text FROM start_group g WHERE organisation_id = :o",
        "SELECT row_to_json(m)::text FROM group_member m JOIN start_group g ON g.id = m.group_id"
        " WHERE g.organisation_id = :o",
        "SELECT row_to_json(f)::text FROM facilitator f WHERE organisation_id = :o",
        "SELECT row_to_json(r)::text FROM referral r WHERE organisation_id = :o",
        "SELECT (to_jsonb(k) - 'last_used_at')::text FROM api_key k WHERE organisation_id = :o",
        "SELECT (to_jsonb(u) - 'last_sign_in_at')::text FROM staff_user u"
        " WHERE organisation_id = :o OR region_slug = (SELECT region_slug FROM organisation"
        " WHERE id = :o)",
    ):
        rows = await session.scalars(text(sql + " ORDER BY 1"), {"o": org_id})
        parts.extend(rows)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


async def call(
    client: httpx.AsyncClient, viewer: Viewer, method: str, path: str, token: str
) -> httpx.Response:
    client.cookies.clear()
    client.cookies.update(viewer.cookies)
    params = {}
    if path.startswith("/api/") and viewer.api_org is not None:
        params["organisation"] = str(viewer.api_org)
    if method == "GET":
        return await client.get(path, headers=viewer.headers, params=params)
    if path.startswith("/api/"):
        return await client.request(method, path, json={}, headers=viewer.headers, params=params)
    return await client.request(
        method, path, data={"_csrf_token": token}, headers={"csrftoken": token}
    )


async def csrf_token(client: httpx.AsyncClient, viewer: Viewer) -> str:
    if viewer.api_only:
        return ""
    client.cookies.clear()
    client.cookies.update(viewer.cookies)
    page = await client.get("/ansatt/konto")
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found, f"{viewer.name}: no CSRF token on /ansatt/konto ({page.status_code})"
    viewer.cookies = {**viewer.cookies, "csrftoken": client.cookies.get("csrftoken", "")}
    return found.group(1)


def refused(status: int) -> bool:
    """Nothing done, nothing shown. 400/422 (a body refused before the record is looked up)
    count only when an unknown id gets the same answer, checked by the caller."""
    return status in (400, 401, 403, 404, 405, 422) or 300 <= status < 400


async def test_no_reads_across_organisations(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    orgs = await make_world(session, cipher, clock)
    app: Litestar = client._transport.app  # type: ignore[attr-defined]
    routes = list(staff_routes(app))
    unfillable = [p for p, _ in routes if set(PARAM.findall(p)) and any(
        n not in NEUTRAL and n not in orgs["A"].records for n, _ in PARAM.findall(p))]  # fmt: skip
    assert not unfillable, f"teach fill() these parameters: {unfillable}"
    failures: list[str] = []
    covered: set[str] = set()
    for viewer in await viewers(session, orgs, clock):
        token = await csrf_token(client, viewer)
        foreign = [o for o in orgs.values() if o.tag not in viewer.scope]
        for path, methods in routes:
            if viewer.api_only and not path.startswith("/api/"):
                continue
            has_record = any(n not in NEUTRAL for n, _ in PARAM.findall(path))
            if not has_record:
                if "GET" not in methods:
                    continue
                answer = await call(client, viewer, "GET", fill(path, None), token)
                covered.add(f"GET {path}")
                for org in foreign:
                    leaked = [m for m in org.markers if m in answer.text]
                    if leaked:
                        failures.append(f"{viewer.name} GET {path}: shows {org.tag}'s {leaked[:2]}")
                continue
            for org in foreign:
                before = await fingerprint(session, org.id)
                for method in methods:
                    target = fill(path, org.records)
                    answer = await call(client, viewer, method, target, token)
                    unknown = await call(client, viewer, method, fill(path, None), token)
                    covered.add(f"{method} {path}")
                    leaked = [m for m in org.markers if m in answer.text and m not in target]
                    if not refused(answer.status_code):
                        failures.append(
                            f"{viewer.name} {method} {path} on {org.tag}: {answer.status_code}"
                        )
                    elif answer.status_code != unknown.status_code:
                        failures.append(
                            f"{viewer.name} {method} {path} on {org.tag}: {answer.status_code}"
                            f" where an unknown id gets {unknown.status_code} (reveals existence)"
                        )
                    if leaked:
                        failures.append(
                            f"{viewer.name} {method} {path} on {org.tag}: shows {leaked[:2]}"
                        )
                if await fingerprint(session, org.id) != before:
                    failures.append(f"{viewer.name} {methods} {path} changed {org.tag}'s records")
        # The viewer's own records open (GET 200).
        for tag in sorted(viewer.scope):
            if tag == "A2":  # like A: one own organisation per viewer is enough
                continue
            org = orgs[tag]
            for path, methods in routes:
                if "GET" not in methods or (viewer.api_only and not path.startswith("/api/")):
                    continue
                names = [n for n, _ in PARAM.findall(path)]
                if not names or any(n in NEUTRAL for n in names):
                    continue
                if path.startswith("/api/") and viewer.api_org not in (None, org.id):
                    continue
                answer = await call(client, viewer, "GET", fill(path, org.records), token)
                if answer.status_code != 200:
                    failures.append(f"{viewer.name} GET {path} on own {tag}: {answer.status_code}")
    print("\nmatrix covered:\n  " + "\n  ".join(sorted(covered)))
    assert not failures, "\n".join(failures)


def test_fill_refuses_an_unknown_parameter() -> None:
    with pytest.raises(LookupError):
        fill("/ansatt/x/{meeting_id:uuid}", {"org_id": "1"})
    assert fill("/ansatt/oidc/{slug:str}", None) == "/ansatt/oidc/no-such-provider"


#: Routes that sign in or out: a form of foreign ids means nothing to them, and signing the
#: viewer out would end the test's session.
SESSION_ROUTES = ("/ansatt/logg-inn", "/ansatt/lenke", "/ansatt/logg-ut", "/ansatt/konto",
                  "/ansatt/passkey", "/ansatt/oidc", "/ansatt/to-faktor")  # fmt: skip


def foreign_form(org: Org, slug: str, *, by_slug: bool) -> dict[str, str]:
    """A form naming another organisation's records under every field name the console's
    forms use for a record (``organisation`` by id, or by slug as the users page takes it)."""
    r = org.records
    return {
        "person": r["interest_id"], "facilitator": r["facilitator_id"],
        "organisation": slug if by_slug else r["org_id"], "region": org.region,
        "interest_id": r["interest_id"], "group_id": r["group_id"],
        "referral_id": r["referral_id"], "key_id": r["key_id"], "user_id": r["user_id"],
        "bruker": r["user_id"], "id": r["interest_id"],
        # Enough of the rest for the usual forms to pass validation and reach the lookup.
        "name": "Matrise Test", "email": f"matrise-{uuid.uuid4().hex[:8]}@example.no",
        "role": "staff", "reason": "matrise test", "confirm": "yes", "course_kind": "KID",
        "ends_on": "2026-12-20", "label": "matrise", "days": "30", "note": "matrise test",
    }  # fmt: skip


async def test_foreign_ids_in_a_form_change_nothing(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    """Every POST route, filled with the viewer's own records in the path and another
    organisation's ids in the body: that organisation's rows stay as they were."""
    orgs = await make_world(session, cipher, clock)
    app: Litestar = client._transport.app  # type: ignore[attr-defined]
    b_slug = await session.scalar(text("SELECT slug FROM organisation WHERE id = :i"),
                                  {"i": orgs["B"].id})  # fmt: skip
    everyone = await viewers(session, orgs, clock)
    chosen = [v for v in everyone if v.name in ("staff A", "coordinator Vestland")]
    failures: list[str] = []
    covered = []
    before = await fingerprint(session, orgs["B"].id)
    for viewer in chosen:
        token = await csrf_token(client, viewer)
        for path, methods in staff_routes(app):
            if "POST" not in methods or path.startswith(SESSION_ROUTES):
                continue
            target = fill(path, orgs["A"].records)
            for by_slug in (False, True):
                form = foreign_form(orgs["B"], str(b_slug), by_slug=by_slug)
                client.cookies.clear()
                client.cookies.update(viewer.cookies)
                if path.startswith("/api/"):
                    params = {"organisation": str(viewer.api_org)} if viewer.api_org else {}
                    answer = await client.post(target, json=form, params=params)
                else:
                    answer = await client.post(target, data={"_csrf_token": token, **form})
                if answer.status_code >= 500:
                    failures.append(f"{viewer.name} POST {path}: {answer.status_code}")
                if await fingerprint(session, orgs["B"].id) != before:
                    failures.append(f"{viewer.name} POST {path} with B's ids changed B's rows")
                    before = await fingerprint(session, orgs["B"].id)
            covered.append(f"POST {path}")
    print("\nforeign ids in forms, covered:\n  " + "\n  ".join(sorted(set(covered))))
    assert not failures, "\n".join(failures)
