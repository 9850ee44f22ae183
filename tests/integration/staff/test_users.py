"""Users: who sees whom, who may invite whom, the invitation's link, disabling, the CLI."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from helpers import TEST_KEY, FakeClock, make_org, run_cli
from intake.tables import organisation
from integration.staff.signin_support import csrf_of, links_to, session_of, use_link
from notify.tables import outbox
from samhjelp.services import Services
from staff.sessions import COOKIE
from staff.tables import staff_audit, staff_session, staff_user
from staff_support import make_staff_user, signed_in_cookie


async def _world(session: AsyncSession) -> dict[str, uuid.UUID]:
    """Two organisations in Vestland, one in Oslo, and a user of each kind."""
    bergen = await make_org(session, ("4601",), name="LINK Bergen test")
    kinn = await make_org(session, ("4602",), name="Kinn frivilligsentral test")
    oslo = await make_org(session, ("0301",), name="LINK Oslo test")
    return {
        "bergen": bergen.id,
        "kinn": kinn.id,
        "oslo": oslo.id,
        "staff_bergen": await make_staff_user(
            session, "staff", organisation_id=bergen.id, name="Berit Bergen"
        ),
        "staff_oslo": await make_staff_user(
            session, "staff", organisation_id=oslo.id, name="Olav Oslo"
        ),
        "coord_west": await make_staff_user(
            session, "coordinator", region_slug="vestland", name="Vera Vest"
        ),
        "coord_oslo": await make_staff_user(
            session, "coordinator", region_slug="oslo", name="Otto Koord"
        ),
        "admin": await make_staff_user(session, "administrator", name="Anne Admin"),
    }


async def test_a_coordinator_sees_the_users_of_their_region_and_an_admin_all(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    w = await _world(session)
    west = await signed_in_cookie(session, w["coord_west"], now=clock.now)
    page = await client.get("/ansatt/brukere", cookies=west)
    assert page.status_code == 200
    assert "Berit Bergen" in page.text and "Vera Vest" in page.text
    for hidden in ("Olav Oslo", "Otto Koord", "Anne Admin"):
        assert hidden not in page.text
    listed = await client.get("/ansatt/brukere?format=csv", cookies=west)
    assert listed.headers["content-type"].startswith("text/csv")
    assert "Berit Bergen" in listed.text and "Olav Oslo" not in listed.text

    admin = await signed_in_cookie(session, w["admin"], now=clock.now)
    everyone = await client.get("/ansatt/brukere", cookies=admin)
    for name in ("Berit Bergen", "Olav Oslo", "Otto Koord", "Vera Vest"):
        assert name in everyone.text

    staff = await signed_in_cookie(session, w["staff_bergen"], now=clock.now)
    assert (await client.get("/ansatt/brukere", cookies=staff)).status_code == 403
    email_only = await signed_in_cookie(session, w["coord_west"], method="email", now=clock.now)
    second = await client.get("/ansatt/brukere", cookies=email_only)
    assert second.status_code == 303 and second.headers["location"].startswith("/ansatt/to-faktor")


async def _invite(
    client: httpx.AsyncClient, cookies: dict[str, str], **form: str
) -> httpx.Response:
    page = await client.get("/ansatt/brukere/ny", cookies=cookies)
    assert page.status_code == 200, page.text
    return await client.post(
        "/ansatt/brukere/ny", data={"_csrf_token": csrf_of(page), **form}, cookies=cookies
    )


async def test_an_invitation_mails_a_link_that_signs_in_and_asks_for_a_passkey(
    client: httpx.AsyncClient, session: AsyncSession, services: Services, clock: FakeClock
) -> None:
    w = await _world(session)
    west = await signed_in_cookie(session, w["coord_west"], now=clock.now)
    bergen_slug = await session.scalar(
        select(organisation.c.slug).where(organisation.c.id == w["bergen"])
    )
    done = await _invite(
        client,
        west,
        name="Nina Ny",
        email="Nina.Ny@link-test.example.no",
        role="staff",
        organisation=str(bergen_slug),
    )
    assert done.status_code == 303 and done.headers["location"] == "/ansatt/brukere?ok=invited"
    [link] = links_to(services, "nina.ny@link-test.example.no")
    client.cookies.clear()
    page = await client.get(link)
    assert "Nina Ny" in page.text
    signed_in = await use_link(client, link)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"].startswith("/ansatt/to-faktor")
    assert session_of(signed_in)
    trail = (
        await session.execute(
            select(staff_audit.c.action, staff_audit.c.organisation_id).order_by(staff_audit.c.id)
        )
    ).all()
    assert [(a, o) for a, o in trail] == [
        ("user.invite", w["bergen"]),
        ("user.accept", w["bergen"]),
    ]
    clock.advance(days=7)
    assert (await client.get(link)).status_code == 410


async def test_a_coordinator_cannot_invite_outside_the_region_or_an_administrator(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    w = await _world(session)
    west = await signed_in_cookie(session, w["coord_west"], now=clock.now)
    oslo_slug = await session.scalar(
        select(organisation.c.slug).where(organisation.c.id == w["oslo"])
    )
    attempts = [
        {"role": "staff", "organisation": str(oslo_slug)},
        {"role": "coordinator", "region": "oslo"},
        {"role": "administrator"},
    ]
    for i, extra in enumerate(attempts):
        refused = await _invite(client, west, name="X", email=f"x{i}@link-test.example.no", **extra)
        assert refused.status_code in (400, 403), refused.text
    made = await session.scalar(
        select(staff_user.c.id).where(staff_user.c.email.like("x%@link-test.example.no"))
    )
    assert made is None
    missing = await _invite(client, west, name="", email="bad", role="staff", organisation="")
    assert missing.status_code == 400
    assert 'id="email-error"' in missing.text and 'id="organisation-error"' in missing.text


async def test_disabling_ends_the_sessions_and_is_scoped_and_audited(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    w = await _world(session)
    victim = await signed_in_cookie(session, w["staff_bergen"], now=clock.now)
    west = await signed_in_cookie(session, w["coord_west"], now=clock.now)
    page = await client.get("/ansatt/brukere", cookies=west)
    token = csrf_of(page)
    outside = await client.post(
        f"/ansatt/brukere/{w['staff_oslo']}/deaktiver", data={"_csrf_token": token}, cookies=west
    )
    assert outside.status_code == 404
    done = await client.post(
        f"/ansatt/brukere/{w['staff_bergen']}/deaktiver", data={"_csrf_token": token}, cookies=west
    )
    assert done.status_code == 303
    client.cookies.clear()
    assert (await client.get("/ansatt/konto", cookies=victim)).status_code == 303
    revoked = await session.scalar(
        select(staff_session.c.revoked_at).where(staff_session.c.user_id == w["staff_bergen"])
    )
    assert revoked is not None
    token = csrf_of(await client.get("/ansatt/brukere", cookies=west))
    again = await client.post(
        f"/ansatt/brukere/{w['staff_bergen']}/aktiver", data={"_csrf_token": token}, cookies=west
    )
    assert again.status_code == 303
    actions = (
        await session.execute(
            select(staff_audit.c.action).where(staff_audit.c.record_id == str(w["staff_bergen"]))
        )
    ).scalars()
    assert sorted(actions) == ["user.disable", "user.enable"]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return {
        "SAMHJELP_DATA_DIR": str(tmp_path),
        "SAMHJELP_CONTACT_KEY": TEST_KEY.hex(),
        "SAMHJELP_LINK_SECRET": "cli-users-secret-" + "x" * 32,
        "SAMHJELP_MAIL_CHANNEL": "folder",
        "SAMHJELP_PUBLIC_BASE_URL": "https://samhjelp.example.no",
    }


async def test_the_cli_adds_lists_and_disables_users(
    engine: AsyncEngine, database_url: str, cli_env: dict[str, str]
) -> None:
    maker = async_sessionmaker(engine, expire_on_commit=False)
    url = database_url.replace("+asyncpg", "")
    address = f"first.admin.{uuid.uuid4().hex[:6]}@example.no"

    async def cli(*args: str) -> tuple[int, str, str]:
        done = await asyncio.to_thread(run_cli, url, *args, env=cli_env)
        return done.returncode, done.stdout, done.stderr

    try:
        code, out, err = await cli(
            "user", "add", "--name", "Første Admin", "--email", address.upper(),
            "--role", "administrator", "--send-invite",
        )  # fmt: skip
        assert code == 0, err
        assert address in out and "administrator" in out
        async with maker.begin() as s:
            user = (await s.execute(select(staff_user).where(staff_user.c.email == address))).one()
            mail = (
                await s.execute(
                    select(outbox.c.template, outbox.c.body_text).where(
                        outbox.c.recipient_ref == f"staff:{user.id}"
                    )
                )
            ).one()
        assert mail.template == "staff_invitation"
        assert "https://samhjelp.example.no/ansatt/lenke/" in mail.body_text
        token = mail.body_text.split("/ansatt/lenke/")[1].split("?")[0]
        assert token not in out + err  # nothing secret on the terminal

        code, _, err = await cli("user", "add", "--name", "X", "--email", address, "--role",
                                 "administrator")  # fmt: skip
        assert code != 0 and "already" in err
        code, _, err = await cli("user", "add", "--name", "X", "--email", "s@example.no",
                                 "--role", "staff")  # fmt: skip
        assert code != 0 and "--organisation" in err

        code, out, _ = await cli("user", "list")
        assert code == 0
        assert any(line.startswith(address) and "active" in line for line in out.splitlines())

        async with maker.begin() as s:
            await signed_in_cookie(s, user.id)
        code, out, err = await cli("user", "disable", address)
        assert code == 0, err
        async with maker.begin() as s:
            row = (
                await s.execute(select(staff_user.c.disabled_at).where(staff_user.c.id == user.id))
            ).one()
            open_sessions = (
                await s.execute(
                    select(staff_session.c.id_hash).where(
                        staff_session.c.user_id == user.id, staff_session.c.revoked_at.is_(None)
                    )
                )
            ).all()
        assert row.disabled_at is not None and open_sessions == []
        code, out, _ = await cli("user", "list")
        assert any(line.startswith(address) and "disabled" in line for line in out.splitlines())
        async with maker.begin() as s:
            trail = (
                await s.execute(
                    select(staff_audit.c.action).where(staff_audit.c.record_id == str(user.id))
                )
            ).scalars()
            assert sorted(trail) == ["user.add", "user.disable"]
    finally:
        async with maker.begin() as s:
            ids = (
                await s.scalars(select(staff_user.c.id).where(staff_user.c.email == address))
            ).all()
            refs = [f"staff:{i}" for i in ids]
            await s.execute(delete(outbox).where(outbox.c.recipient_ref.in_(refs)))
            await s.execute(
                delete(staff_audit).where(staff_audit.c.record_id.in_([str(i) for i in ids]))
            )
            await s.execute(delete(staff_user).where(staff_user.c.id.in_(ids)))


def test_session_cookie_name_is_the_one_the_guard_reads() -> None:
    assert COOKIE == "samhjelp_staff"
