"""Trust (issue 8) over HTTP: every HTML response carries the security headers, HSTS and Secure
cookies behind an https URL, a CSRF failure is a page in the person's language, and the pages
name the data controller and the retention times the service really uses."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import make_org, run_cli, unique
from intake.consent import CURRENT_VERSION, TEXTS
from intake.registry import add_organisation, list_organisations
from intake.tables import interest
from samhjelp.app import Services, create_app
from samhjelp.settings import Settings

#: What the participant pages send; every HTML page of the service must send the same.
PAGE_HEADERS = {
    "content-security-policy": "frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=()",
    "cross-origin-opener-policy": "same-origin",
}
NATIONAL = "Selvhjelp Norge testdrift"
NATIONAL_CONTACT = "personvern@selvhjelp.test"


def assert_page_headers(r: httpx.Response) -> None:
    assert r.headers["content-type"].startswith("text/html")
    for name, part in PAGE_HEADERS.items():
        assert part in r.headers.get(name, ""), f"{r.request.url.path}: {name} missing"


def csrf(html: str) -> str:
    m = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert m, "form has no CSRF token"
    return m.group(1)


def receipt_code(html: str) -> str:
    m = re.search(r'id="receipt-code"[^>]*>([^<]+)<', html)
    assert m, "no receipt code on the page"
    return m.group(1)


def text_of(html: str) -> str:
    """The page's words without tags, whitespace folded (so wrapped sentences match)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


AppFactory = Callable[..., Any]


@pytest.fixture
def app_with(services: Services, tmp_path: Path) -> AppFactory:
    """An in-process client for an app with the link pages and some settings changed."""

    @asynccontextmanager
    async def make(**changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        values = {
            "data_dir": tmp_path,
            "public_base_url": "http://testserver",
            "post_rate_per_minute": 1000,
            "scheduler_enabled": False,
            "controller_name": NATIONAL,
            "controller_contact": NATIONAL_CONTACT,
            **changes,
        }
        app = create_app(replace(services, settings=Settings(**values)))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as c:
            yield c

    return make


async def sign_up(client: httpx.AsyncClient, municipality: str, **extra: str) -> httpx.Response:
    form = await client.get("/meld-interesse", params={"lang": "en"})
    body: dict[str, Any] = {
        "_csrf_token": csrf(form.text),
        "municipality": municipality,
        "themes": ["sorg"],
        "age_band": "33-37",
        "languages": ["no"],
        "availability": ["tue-evening"],
        "consent": "yes",
        "consent_version": CURRENT_VERSION,
        "email": "kari@example.no",
        **extra,
    }
    return await client.post("/meld-interesse", data=body)


# --- headers --------------------------------------------------------------------------------


async def test_link_pages_and_error_pages_send_the_same_headers_as_the_participant_pages(
    app_with: AppFactory,
) -> None:
    async with app_with() as client:
        forged = await client.get("/s/not-a-real-link")
        assert forged.status_code == 400
        assert_page_headers(forged)
        refused = await client.post(
            "/s/not-a-real-link", data={"_csrf_token": "x"}, headers={"Accept": "text/html"}
        )
        assert refused.status_code == 403
        assert_page_headers(refused)
        missing_poster = await client.get("/henvisning/NOSUCHCODE/plakat")
        assert missing_poster.status_code == 404
        assert_page_headers(missing_poster)
        home = await client.get("/")
        assert_page_headers(home)
        assert "strict-transport-security" not in home.headers
        # JSON keeps its own type and is not given page headers it does not need.
        api = await client.get("/health/live")
        assert api.headers["content-type"].startswith("application/json")
        assert "strict-transport-security" not in api.headers


async def test_an_https_base_url_adds_hsts_and_marks_every_cookie_secure(
    app_with: AppFactory,
) -> None:
    async with app_with(public_base_url="https://samhjelp.example.no") as client:
        r = await client.get("/meld-interesse", params={"lang": "nn"})
        assert r.status_code == 200
        assert r.headers["strict-transport-security"].startswith("max-age=")
        cookies = r.headers.get_list("set-cookie")
        assert {c.split("=", 1)[0] for c in cookies} >= {"lang", "csrftoken"}
        assert all(re.search(r";\s*secure", c, re.I) for c in cookies), cookies
        link = await client.get("/s/forged")
        assert link.headers["strict-transport-security"].startswith("max-age=")
        assert_page_headers(link)
    async with app_with(public_base_url="http://127.0.0.1:8000") as client:
        r = await client.get("/meld-interesse", params={"lang": "nn"})
        assert "strict-transport-security" not in r.headers
        assert not any(re.search(r";\s*secure", c, re.I) for c in r.headers.get_list("set-cookie"))


async def test_a_csrf_failure_in_a_browser_is_a_page_in_its_language_not_json(
    app_with: AppFactory,
) -> None:
    async with app_with() as client:
        client.cookies.set("lang", "nn")
        for path in ("/s/some-link-token", "/meld-interesse", "/status"):
            r = await client.post(
                path, data={"code": "ABCDE-FGHJK"}, headers={"Accept": "text/html,*/*;q=0.8"}
            )
            assert r.status_code == 403, path
            assert r.headers["content-type"].startswith("text/html"), path
            assert '<html lang="nn"' in r.text, path
            assert "Skjemaet hadde gått ut på tid" in r.text, path
            assert_page_headers(r)
        # A program that is not a browser (JSON, no HTML wanted) still gets problem+json.
        r = await client.post("/s/some-link-token", json={"x": 1})
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")


# --- the controller and what the pages promise ---------------------------------------------


async def test_the_privacy_page_names_each_controller_with_fallbacks_in_every_language(
    app_with: AppFactory, session: AsyncSession
) -> None:
    own = await add_organisation(
        session,
        slug=unique("org"),
        name="LINK Kontroll test",
        kind="link",
        municipalities=("4601",),
        contact_email="post@link-kontroll.test",
        controller_name="Stiftelsen Kontroll test",
        privacy_contact="personvern@link-kontroll.test",
    )
    by_mail = await add_organisation(
        session,
        slug=unique("org"),
        name="Frivilligsentral Epost test",
        kind="contact_point",
        municipalities=("4601",),
        contact_email="post@epost.test",
    )
    bare = await add_organisation(
        session, slug=unique("org"), name="Kontaktpunkt Bart test", kind="contact_point",
        municipalities=("4601",),
    )  # fmt: skip
    assert (await list_organisations(session, municipality_number="4601"))[0].slug
    async with app_with(erase_contacts_after_days=14) as client:
        for lang, word, basis in (
            ("nb", "behandlingsansvarlig", "9 nr. 2 a"),
            ("nn", "behandlingsansvarleg", "9 nr. 2 a"),
            ("en", "data controller", "9(2)(a)"),
        ):
            r = await client.get("/personvern", params={"lang": lang})
            assert r.status_code == 200
            page = text_of(r.text)
            assert word in page
            line = {n: li for li in re.findall(r"<li>(.*?)</li>", r.text, re.S)
                    for n in (own.name, by_mail.name, bare.name) if li.startswith(n)}  # fmt: skip
            assert "Stiftelsen Kontroll test" in line[own.name]
            assert "personvern@link-kontroll.test" in line[own.name]
            assert "post@epost.test" in line[by_mail.name] and NATIONAL in line[by_mail.name]
            assert NATIONAL_CONTACT in line[bare.name]
            assert NATIONAL in page and NATIONAL_CONTACT in page
            assert basis in page  # explicit consent, GDPR art. 9(2)(a)
            assert "AES-256-GCM" in page
            # The retention section (the suggestion messages' section quotes 30 and 14 days
            # of its own, from intake.nudges).
            kept = text_of(r.text.split('id="how-long"', 1)[1])
            assert " 14 " in kept and " 30 " not in kept  # the configured erasure delay
            assert " 7 " in kept and " 24 " in kept  # message and API answer retention
        en = text_of((await client.get("/personvern", params={"lang": "en"})).text)
        # Promises the service does not keep are gone: no correction, no full view of the data.
        assert "correct" not in en.lower()
        assert "see what is stored about you" not in en
        assert "withdraw and sign up again" in en
        # A waiting registration lapses (intake.lapse): the page says when, as configured.
        assert "There is no automatic time limit" not in en
        assert "While you wait for a group: a year after you last showed us" in en
        assert "we send you one message a month before" in en


async def test_receipt_and_status_name_the_persons_controller(
    app_with: AppFactory, session: AsyncSession
) -> None:
    await add_organisation(
        session,
        slug=unique("org"),
        name="LINK Askøy kontroll test",
        kind="link",
        municipalities=("4627",),
        controller_name="Askøy kommune test",
        privacy_contact="56 15 80 00",
    )
    async with app_with() as client:
        receipt = await sign_up(client, "4627")
        assert receipt.status_code == 200
        page = text_of(receipt.text)
        assert "Askøy kommune test is responsible for your data" in page
        assert "56 15 80 00" in page
        code = receipt_code(receipt.text)
        token = csrf((await client.get("/status")).text)
        status = await client.post(
            "/status", data={"_csrf_token": token, "code": code, "lang": "nn"}
        )
        assert status.status_code == 200
        assert "Askøy kommune test er ansvarleg for opplysningane dine" in text_of(status.text)
        # Where nobody serves the municipality, the national controller is named.
        unserved = await sign_up(client, "5636")  # Unjárga - Nesseby: no organisation here
        assert f"{NATIONAL} is responsible for your data" in text_of(unserved.text)
        assert NATIONAL_CONTACT in unserved.text


async def test_the_form_shows_and_stores_the_current_consent_wording(
    app_with: AppFactory, session: AsyncSession
) -> None:
    await make_org(session, ("4631",), name="LINK Alver test")
    async with app_with() as client:
        for lang in ("nb", "nn", "en"):
            form = await client.get("/meld-interesse", params={"lang": lang})
            assert f'name="consent_version" value="{CURRENT_VERSION}"' in form.text
            assert TEXTS[CURRENT_VERSION][lang][:60] in text_of(form.text)
        done = await sign_up(client, "4631")
        assert done.status_code == 200
    stored = (
        await session.execute(
            select(interest.c.consent_version).order_by(interest.c.created_at.desc()).limit(1)
        )
    ).scalar_one()
    assert stored == CURRENT_VERSION != "2026-11-v1"
    for lang in ("nb", "nn", "en"):  # the wording says what the privacy page says
        assert "kvitteringskoden" in TEXTS[CURRENT_VERSION][lang] or lang == "en"
    assert "deleted at once" in TEXTS[CURRENT_VERSION]["en"]


async def test_the_privacy_page_says_the_facilitator_sees_contact_after_yes(
    app_with: AppFactory,
) -> None:
    """The roster shows the facilitator the contact of those who said yes (consent 2026-12-v3);
    the privacy page and the form's contact paragraph must say so, not that they never see it."""
    async with app_with() as client:
        nb = text_of((await client.get("/personvern", params={"lang": "nb"})).text)
        assert (
            "Når du har sagt ja til gruppa, ser igangsetteren også e-postadressen eller "
            "mobilnummeret du oppga (hvis du oppga det), for å kontakte deg før første møte"
        ) in nb
        assert "Ingen andre utenom de ansatte ser det." in nb
        assert "aldri kontaktopplysningene dine" not in nb
        en = text_of((await client.get("/personvern", params={"lang": "en"})).text)
        assert "the facilitator also sees the e-mail address or mobile number you gave" in en
        assert "never your contact details" not in en
        for lang, never in (("nb", "ser det aldri"), ("nn", "ser det aldri"),
                            ("en", "never sees it")):  # fmt: skip
            form = text_of((await client.get("/meld-interesse", params={"lang": lang})).text)
            assert never not in form
    assert CURRENT_VERSION == "2026-12-v4"
    assert "facilitator who starts it can see the e-mail address" in TEXTS[CURRENT_VERSION]["en"]
    assert "igangsetteren som starter den, se e-postadressen" in TEXTS[CURRENT_VERSION]["nb"]
    assert "igangsetjaren som startar ho, sjå e-postadressa" in TEXTS[CURRENT_VERSION]["nn"]


def test_production_refuses_to_start_without_a_national_controller(tmp_path: Path) -> None:
    real = {
        "environment": "production",
        "DATABASE_URL": "postgresql://db/x",
        "contact_key": "A" * 43 + "=",
        "link_secret": "s" * 40,
        "data_dir": tmp_path,
    }
    with pytest.raises(ValidationError, match="SAMHJELP_CONTROLLER_NAME"):
        Settings(**real)
    ok = Settings(**real, controller_name="Selvhjelp Norge", controller_contact="a@b.no")
    assert ok.controller_name == "Selvhjelp Norge"
    dev = Settings(data_dir=tmp_path)
    assert dev.controller_name and dev.controller_contact  # a visible development placeholder


async def test_the_cli_records_an_organisations_controller(database_url: str) -> None:
    import asyncio

    slug = unique("cli-ctrl")
    done = await asyncio.to_thread(
        run_cli, database_url, "org", "add", "--name", "LINK CLI kontroll test", "--kind",
        "link", "--municipalities", "3405", "--slug", slug, "--controller",
        "Lillehammer kommune", "--privacy-contact", "personvern@lillehammer.test",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    from sqlalchemy import delete
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from intake.tables import catchment, organisation

    engine = create_async_engine(database_url)
    try:
        async with async_sessionmaker(engine).begin() as s:
            row = (
                await s.execute(
                    select(organisation.c.controller_name, organisation.c.privacy_contact).where(
                        organisation.c.slug == slug
                    )
                )
            ).one()
            assert tuple(row) == ("Lillehammer kommune", "personvern@lillehammer.test")
            org_id = select(organisation.c.id).where(organisation.c.slug == slug)
            await s.execute(delete(catchment).where(catchment.c.organisation_id.in_(org_id)))
            await s.execute(delete(organisation).where(organisation.c.slug == slug))
    finally:
        await engine.dispose()


async def test_the_privacy_page_says_staff_can_open_contact_and_that_it_is_recorded(
    app_with: AppFactory,
) -> None:
    """The staff console lets staff open a person's contact (audited) and lets the region's
    coordinator see registrations: the page said "staff see it only masked"."""
    async with app_with() as client:
        for lang, said, gone in (
            ("nb", "blir det registrert i en revisjonslogg", "ansatte ser det bare maskert"),
            ("nn", "vert det registrert i ein revisjonslogg", "tilsette ser det berre maskert"),
            ("en", "is recorded in an audit trail", "staff see it only masked"),
        ):
            page = text_of((await client.get("/personvern", params={"lang": lang})).text)
            assert said in page, lang
            assert gone not in page, lang
        en = text_of((await client.get("/personvern", params={"lang": "en"})).text)
        assert "the coordinator of its region and the service's national administrators see" in en
