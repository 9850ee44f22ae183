"""The facilitator pages: scope (another organisation's facilitator is 404 in page and action),
add with field errors, edit, pause with dates, deactivate — each audited, never with values."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org_with_facilitator
from intake.tables import facilitator
from integration.staff.person_support import csrf, sign_in
from staff.tables import staff_audit


async def _audit(session: AsyncSession, fid: uuid.UUID) -> list[tuple[str, Any]]:
    rows = await session.execute(
        select(staff_audit.c.action, staff_audit.c.detail)
        .where(staff_audit.c.record_id == str(fid))
        .order_by(staff_audit.c.id)
    )
    return [(r.action, r.detail) for r in rows]


async def _row(session: AsyncSession, fid: uuid.UUID) -> dict[str, Any]:
    found = (await session.execute(select(facilitator).where(facilitator.c.id == fid))).mappings()
    return dict(found.one())


async def test_another_organisations_facilitator_is_404(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    mine, own = await make_org_with_facilitator(session, ("4601",), name="Egen Igangsetter")
    _, theirs = await make_org_with_facilitator(session, ("4602",), name="Fremmed Igangsetter")
    await sign_in(client, session, clock.now, method="email", organisation_id=mine.id)
    listing = await client.get("/ansatt/igangsettere")
    assert listing.status_code == 200
    assert "Egen Igangsetter" in listing.text and "Fremmed Igangsetter" not in listing.text
    exported = await client.get("/ansatt/igangsettere?format=csv")
    assert "Fremmed" not in exported.text and "@example" not in exported.text
    assert (await client.get(f"/ansatt/igangsettere/{theirs}")).status_code == 404
    assert (await client.get(f"/ansatt/igangsettere/{own}")).status_code == 200
    token = csrf(listing.text)
    for path, data in (
        ("", {"name": "Kapret", "email": "x@example.no", "themes": "sorg", "languages": "no"}),
        ("/pause", {"paused_from": "2026-12-01"}),
        ("/aktiv", {"active": "no"}),
    ):
        r = await client.post(
            f"/ansatt/igangsettere/{theirs}{path}", data={"_csrf_token": token, **data}
        )
        assert r.status_code == 404, path
    row = await _row(session, theirs)
    assert (row["name"], row["active"], row["paused_from"]) == ("Fremmed Igangsetter", True, None)


async def test_add_with_errors_next_to_fields_then_added_and_audited(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    org, _ = await make_org_with_facilitator(session, ("4601",))
    await sign_in(client, session, clock.now, organisation_id=org.id)
    page = await client.get("/ansatt/igangsettere/ny?lang=en")
    token = csrf(page.text)
    bad = await client.post(
        "/ansatt/igangsettere/ny?lang=en",
        data={"_csrf_token": token, "name": "", "email": "nope", "max_concurrent_starts": "0"},
    )
    assert bad.status_code == 400
    for field in ("name", "email", "themes", "max_concurrent_starts"):
        assert f'id="{field}-error"' in bad.text, field
    assert 'value="nope"' in bad.text  # nothing typed is lost
    good = await client.post(
        "/ansatt/igangsettere/ny",
        data={
            "_csrf_token": token, "name": "Nora Ny", "email": "nora@example.no",
            "themes": ["sorg", "across"], "languages": ["no", "en"], "digital": "yes",
            "max_concurrent_starts": "2",
        },
    )  # fmt: skip
    assert good.status_code == 303, good.text[:500]
    fid = uuid.UUID(good.headers["location"].split("/")[3].split("?")[0])
    row = await _row(session, fid)
    assert row["organisation_id"] == org.id
    assert (row["themes"], row["languages"], row["digital"]) == (
        ["sorg", "across"],
        ["no", "en"],
        True,
    )
    assert row["max_concurrent_starts"] == 2
    assert [a for a, _ in await _audit(session, fid)] == ["facilitator.add"]


async def test_edit_pause_and_deactivate_are_stored_and_audited_without_values(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    org, fid = await make_org_with_facilitator(session, ("4601",), name="Gammelt Navn")
    await sign_in(client, session, clock.now, method="email", organisation_id=org.id)
    page = await client.get(f"/ansatt/igangsettere/{fid}")
    assert page.status_code == 200
    token = csrf(page.text)
    edited = await client.post(
        f"/ansatt/igangsettere/{fid}",
        data={
            "_csrf_token": token, "name": "Nytt Navn", "email": "f@example.no",
            "phone": "912 34 567", "themes": ["sorg"], "languages": ["no"],
            "max_concurrent_starts": "3",
        },
    )  # fmt: skip
    assert edited.status_code == 303, edited.text[:500]
    backwards = await client.post(
        f"/ansatt/igangsettere/{fid}/pause",
        data={"_csrf_token": token, "paused_from": "2026-12-20", "paused_until": "2026-12-01"},
    )
    assert backwards.status_code == 400 and 'id="paused_until-error"' in backwards.text
    paused = await client.post(
        f"/ansatt/igangsettere/{fid}/pause",
        data={"_csrf_token": token, "paused_from": "2026-12-01", "paused_until": "2026-12-31"},
    )
    assert paused.status_code == 303
    off = await client.post(f"/ansatt/igangsettere/{fid}/aktiv", data={"_csrf_token": token})
    assert off.status_code == 303
    row = await _row(session, fid)
    assert (row["name"], row["phone"], row["max_concurrent_starts"]) == (
        "Nytt Navn",
        "912 34 567",
        3,
    )
    assert (str(row["paused_from"]), str(row["paused_until"])) == ("2026-12-01", "2026-12-31")
    assert row["active"] is False
    trail = await _audit(session, fid)
    assert [a for a, _ in trail] == [
        "facilitator.edit",
        "facilitator.pause",
        "facilitator.deactivate",
    ]
    assert sorted(trail[0][1]["fields"]) == ["max_concurrent_starts", "name", "phone"]
    assert "Nytt" not in str(trail) and "912" not in str(trail)
    listing = await client.get("/ansatt/igangsettere?format=csv&lang=en")
    rows = list(csv.reader(io.StringIO(listing.content.decode("utf-8-sig"))))
    assert rows[1][0] == "Nytt Navn" and rows[1][6] == "no"
