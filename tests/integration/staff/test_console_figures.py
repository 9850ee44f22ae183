"""The console's statistics page (/ansatt/statistikk): the published figures of one's own areas
only, hidden exactly as on the public page, and the operational figures of one's own
organisations. Figures from the hand-computed fixture of the statistics tests (October 2026:
Lillehammer's 3 sign-ups are hidden, Bergen's 9 shown; November: Bergen 11)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from figures.refresh import refresh_release
from groups.common import reference
from groups.tables import facilitator_offer
from helpers import FakeClock
from intake.crypto import ContactCipher
from intake.registry import add_facilitator
from intake.tables import facilitator
from integration.figures.fixture import NOV, seed
from integration.staff.test_today import group
from staff_support import make_staff_user, signed_in_cookie


async def sign_in(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, role: str, **scope: object
) -> None:
    client.cookies.clear()
    user = await make_staff_user(session, role, **scope)  # type: ignore[arg-type]
    client.cookies.update(await signed_in_cookie(session, user, method="email", now=clock.now))


def figure(html: str, label: str) -> str:
    found = re.search(rf"<dt>{re.escape(label)}</dt><dd[^>]*>([^<]*)</dd>", html)
    assert found, f"{label} not on the page"
    return found.group(1)


async def world(session: AsyncSession, cipher: ContactCipher, now: datetime) -> dict[str, object]:
    """The fixture's release, and in each organisation a facilitator with a start notice that
    has waited (org A: 3 days, org B: 6 days)."""
    orgs = await seed(session, cipher)
    await refresh_release(session, now=NOV)
    out: dict[str, object] = {"a": orgs["a"], "b": orgs["b"]}
    for key, name, days in (("a", "Anne Bergen", 3), ("b", "Berit Innland", 6)):
        org = orgs[key]
        fid = await add_facilitator(
            session, organisation_id=org.id, name=name, email=None, themes=["sorg"],
            max_concurrent_starts=3,
        )  # fmt: skip
        gid = await group(session, org.id, "proposed", now - timedelta(days=days))
        await session.execute(
            facilitator_offer.insert().values(
                id=uuid.uuid4(), group_id=gid, facilitator_id=fid, status="pending",
                sent_at=now - timedelta(days=days), respond_by=now + timedelta(days=1),
            )
        )  # fmt: skip
        out[f"group_{key}"] = gid
    return out


async def test_a_coordinator_sees_the_regions_figures_and_no_other_regions(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, cipher: ContactCipher
) -> None:
    await world(session, cipher, clock.now)
    await sign_in(client, session, clock, "coordinator", region_slug="vestland")
    page = await client.get("/ansatt/statistikk?lang=en")
    assert page.status_code == 200, page.text[:800]
    html = page.text
    assert "<h1" in html and "Statistics: Vestland" in html
    assert 'href="/ansatt/statistikk" aria-current="page"' in html  # in the navigation
    assert 'value="municipality:4601"' in html and 'value="county:46"' in html
    assert 'value="municipality:3405"' not in html and 'value="nation:NO"' not in html
    bergen = await client.get("/ansatt/statistikk?area=municipality:4601&month=2026-11&lang=en")
    assert bergen.status_code == 200 and figure(bergen.text, "Sign-ups") == "11"
    for foreign in ("municipality:3405", "region:innlandet", "county:34", "nation:NO", "x:1"):
        got = await client.get(f"/ansatt/statistikk?area={foreign}&lang=en")
        assert got.status_code == 404, foreign
        assert "Lillehammer" not in got.text


async def test_a_small_cell_stays_hidden_on_the_console_page(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, cipher: ContactCipher
) -> None:
    await world(session, cipher, clock.now)
    await sign_in(client, session, clock, "coordinator", region_slug="innlandet")
    html = (
        await client.get("/ansatt/statistikk?area=municipality:3405&month=2026-10&lang=en")
    ).text
    assert figure(html, "Sign-ups") == "hidden"  # 3 people: never printed
    assert re.search(r"<dt>Waiting now</dt><dd[^>]*>hidden</dd>", html)
    # Complementary suppression holds too: Vestland's October total (15) is hidden for its
    # coordinator, like Austrheim's 6, while Bergen's 9 is shown.
    await sign_in(client, session, clock, "coordinator", region_slug="vestland")
    region = (
        await client.get("/ansatt/statistikk?area=region:vestland&month=2026-10&lang=en")
    ).text
    assert figure(region, "Sign-ups") == "hidden"
    austrheim = await client.get("/ansatt/statistikk?area=municipality:4632&month=2026-10&lang=en")
    assert figure(austrheim.text, "Sign-ups") == "hidden"
    bergen = await client.get("/ansatt/statistikk?area=municipality:4601&month=2026-10&lang=en")
    assert figure(bergen.text, "Sign-ups") == "9"
    await sign_in(client, session, clock, "administrator")
    nation = (await client.get("/ansatt/statistikk?month=2026-10&lang=en")).text
    assert figure(nation, "Sign-ups") == "18"
    assert (
        figure(
            (
                await client.get("/ansatt/statistikk?area=region:innlandet&month=2026-10&lang=en")
            ).text,
            "Sign-ups",
        )
        == "hidden"
    )


async def test_staff_see_their_catchments_figures_and_their_own_work_only(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, cipher: ContactCipher
) -> None:
    made = await world(session, cipher, clock.now)
    org_a = made["a"]
    await sign_in(client, session, clock, "staff", organisation_id=org_a.id)  # type: ignore[attr-defined]
    page = await client.get("/ansatt/statistikk?lang=en")
    assert page.status_code == 200, page.text[:800]
    html = page.text
    assert 'value="municipality:4601"' in html and 'value="municipality:4632"' not in html
    assert 'href="/ansatt/statistikk" aria-current="page"' in html
    bergen = await client.get("/ansatt/statistikk?area=municipality:4601&month=2026-11&lang=en")
    assert figure(bergen.text, "Sign-ups") == "11"
    for foreign in ("municipality:3405", "municipality:4632", "region:vestland", "nation:NO"):
        assert (await client.get(f"/ansatt/statistikk?area={foreign}")).status_code == 404
    assert reference(made["group_a"]) in html  # type: ignore[arg-type]
    assert reference(made["group_b"]) not in html  # type: ignore[arg-type]
    assert "Anne Bergen" in html and "Berit Innland" not in html
    assert "Lillehammer test" not in html
    assert "table=offers" in html and "table=facilitators" in html
    offers = (await client.get("/ansatt/statistikk?format=csv&table=offers")).text
    assert reference(made["group_a"]) in offers  # type: ignore[arg-type]
    assert reference(made["group_b"]) not in offers  # type: ignore[arg-type]
    load = (await client.get("/ansatt/statistikk?format=csv&table=facilitators")).text
    assert "Anne Bergen,LINK Bergen test,0,3,yes,no" in load and "Berit" not in load
    orgs = (await client.get("/ansatt/statistikk?format=csv&table=organisations")).text
    assert orgs.lstrip("\ufeff").splitlines()[1].startswith("LINK Bergen test,10,")
    assert (await client.get("/ansatt/statistikk?format=csv&table=nope")).status_code == 404


async def test_operational_figures_cover_the_viewers_organisations_unsuppressed(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, cipher: ContactCipher
) -> None:
    made = await world(session, cipher, clock.now)
    fid = await add_facilitator(
        session, organisation_id=made["a"].id, name="Petter Pause", email=None,  # type: ignore[attr-defined]
        themes=["angst"], max_concurrent_starts=1,
    )  # fmt: skip
    today = clock.now.date()
    await session.execute(
        update(facilitator).where(facilitator.c.id == fid)
        .values(paused_from=today - timedelta(days=1), paused_until=today + timedelta(days=9))
    )  # fmt: skip
    await sign_in(client, session, clock, "coordinator", region_slug="vestland")
    html = (await client.get("/ansatt/statistikk?lang=en")).text
    ops = html[html.index('id="ops-heading"') :]
    # Org A: 10 waiting in Bergen (shown exactly: their own work), the oldest since October.
    row = re.search(r"<th scope=\"row\">LINK Bergen test</th>(.*?)</tr>", ops, re.S)
    assert row, ops[:2000]
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
    waited = (clock.now - datetime.fromisoformat("2026-10-12T10:00:00+00:00")).days
    assert cells == ["10", str(waited), "1", "3", "2", "0 / 4"], cells  # Petter counts too
    assert figure(ops, "Start notices not answered") == "1"
    paused = re.search(r">Petter Pause</a></th>(.*?)</tr>", ops, re.S)
    assert paused and "0 / 1" in paused.group(1) and ">paused</span>" in paused.group(1)
    assert reference(made["group_a"]) in ops and reference(made["group_b"]) not in ops  # type: ignore[arg-type]
    assert "Anne Bergen" in ops and "Berit Innland" not in ops and "Lillehammer test" not in ops
    # An administrator gets the chosen area's region: Innlandet's organisation, 3 waiting.
    await sign_in(client, session, clock, "administrator")
    inn = (await client.get("/ansatt/statistikk?area=county:34&lang=en")).text
    ops = inn[inn.index('id="ops-heading"') :]
    assert "Lillehammer test" in ops and "LINK Bergen test" not in ops
    assert "Berit Innland" in ops and reference(made["group_b"]) in ops  # type: ignore[arg-type]
    nation = (await client.get("/ansatt/statistikk?lang=en")).text
    ops = nation[nation.index('id="ops-heading"') :]
    assert "Lillehammer test" in ops and "LINK Bergen test" in ops
    assert figure(ops, "Start notices not answered") == "2"


async def test_without_a_session_the_page_sends_one_to_sign_in(client: httpx.AsyncClient) -> None:
    got = await client.get("/ansatt/statistikk?area=county:46")
    assert got.status_code == 303
    assert got.headers["location"].startswith("/ansatt/logg-inn?neste=/ansatt/statistikk")
