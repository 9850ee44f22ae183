"""The participant pages over HTTP, in-process (no browser): flows, security and languages.

These run inside the test's rolled-back transaction, so they can count rows freely.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import make_org
from intake import interests, referrals
from intake.errors import NotFound
from intake.referrals import create_link
from intake.schemas import ReferralLinkIn
from intake.tables import interest

PAGES = ("/", "/meld-interesse", "/status", "/personvern", "/tilgjengelighet")


def csrf(html: str) -> str:
    m = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert m, "form has no CSRF token"
    return m.group(1)


def summary_links(html: str) -> list[str]:
    box = re.search(r'class="ds-error-summary".*?</ul>', html, re.S)
    return re.findall(r'href="#([^"]+)"', box.group(0)) if box else []


async def form_body(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    page = await client.get("/meld-interesse")
    body: dict[str, Any] = {
        "_csrf_token": csrf(page.text),
        "municipality": "4601",
        "themes": ["sorg"],
        "age_band": "33-37",
        "languages": ["no"],
        "availability": ["tue-evening", "thu-evening"],
        "consent": "yes",
        "consent_version": "2026-11-v1",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


async def count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(interest))).scalar_one()


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
async def test_every_page_renders_in_each_language_with_strict_headers(
    client: httpx.AsyncClient, path: str, lang: str
) -> None:
    r = await client.get(path, params={"lang": lang})
    assert r.status_code == 200
    assert f'<html lang="{lang}"' in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in r.text and "style=" not in r.text
    assert "http://" not in r.text.replace('href="http://testserver', "")
    assert r.cookies.get("lang") == lang


async def test_language_follows_accept_language_then_the_switch_cookie(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en"' in r.text and "Meet others who understand" in r.text
    r = await client.get("/", headers={"Accept-Language": "nn-NO, nb;q=0.8"})
    assert "Møt andre som forstår" in r.text and '<html lang="nn"' in r.text
    r = await client.get("/", headers={"Accept-Language": "de"})
    assert '<html lang="nb"' in r.text
    await client.get("/", params={"lang": "en"})
    r = await client.get("/status", headers={"Accept-Language": "nb"})
    assert '<html lang="en"' in r.text, "the language chosen with the switch is remembered"


async def test_sign_up_renders_the_receipt_without_putting_the_code_in_a_url(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await count(session)
    r = await client.post("/meld-interesse", data=await form_body(client, email="kari@example.no"))
    assert r.status_code == 200, r.text[:500]
    code = re.search(r'id="receipt-code"[^>]*>([^<]+)<', r.text)
    assert code and re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", code.group(1))
    assert "location" not in r.headers
    assert r.headers["cache-control"] == "no-store"
    assert "k***@e***.no" in r.text
    assert await count(session) == before + 1
    status = await interests.status(session, code.group(1))
    assert status.themes == ["sorg"]


async def test_errors_are_summarised_linked_and_every_value_is_kept(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await count(session)
    body = await form_body(
        client,
        consent=None,
        themes=["angst", "pa-tvers"],
        phone="91234567",
        email="kari@example.no",
    )
    r = await client.post("/meld-interesse", data={**body, "lang": "nb"})
    assert r.status_code == 422
    links = summary_links(r.text)
    assert links == ["email", "consent"]
    for anchor in links:
        assert f'id="{anchor}"' in r.text, f"summary link #{anchor} has no target"
    assert 'aria-invalid="true"' in r.text and 'id="consent-error"' in r.text
    assert 'value="kari@example.no"' in r.text and 'value="91234567"' in r.text
    assert re.search(r'value="4601" selected', r.text)
    assert re.search(r'value="angst" id="theme-angst" checked', r.text)
    assert re.search(r'value="pa-tvers" id="theme-pa-tvers"[^>]*checked', r.text)
    assert re.search(r'value="tue-evening" id="slot-tue-evening" checked', r.text)
    assert "Oppgi enten en e-postadresse eller et mobilnummer" in r.text
    assert await count(session) == before


async def test_a_server_error_keeps_what_was_typed_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = referrals.register

    async def broken(*args: Any, **kwargs: Any) -> Any:
        await real(*args, **kwargs)  # the interest row is written…
        raise RuntimeError("database fell over")  # …then something fails: it must not stay

    monkeypatch.setattr(referrals, "register", broken)
    before = await count(session)
    body = await form_body(client, email="ola@example.no", themes=["ensomhet"])
    r = await client.post("/meld-interesse", data=body)
    assert r.status_code == 503
    assert 'role="alert"' in r.text
    assert 'value="ola@example.no"' in r.text
    assert re.search(r'value="ensomhet" id="theme-ensomhet" checked', r.text)
    assert await count(session) == before


async def test_forms_need_the_csrf_token_but_the_json_api_does_not(
    client: httpx.AsyncClient,
) -> None:
    body = await form_body(client)
    del body["_csrf_token"]
    r = await client.post("/meld-interesse", data=body)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    api = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    r = await api.post(
        "/api/v1/interests/",
        json={
            "municipality": "4601",
            "themes": ["sorg"],
            "age_band": "33-37",
            "availability": ["tue-evening"],
            "consent": {"given": True, "text_version": "2026-11-v1"},
        },
    )
    assert r.status_code == 201


async def test_the_honeypot_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await count(session)
    r = await client.post("/meld-interesse", data=await form_body(client, website="buy now"))
    assert r.status_code == 400
    assert await count(session) == before


async def test_several_organisations_make_the_form_ask_which(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    a = await make_org(session, ("5605",), name="Sted A")
    await make_org(session, ("5605",), name="Sted B")
    r = await client.post("/meld-interesse", data=await form_body(client, municipality="5605"))
    assert r.status_code == 422
    assert summary_links(r.text) == ["organisation-1"]
    assert 'value="' + a.slug + '"' in r.text
    r = await client.post(
        "/meld-interesse", data=await form_body(client, municipality="5605", organisation=a.slug)
    )
    assert r.status_code == 200 and "Sted A" in r.text


async def test_a_referral_link_prefills_and_attributes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session, ("5501",), name="LINK Tromsø test")
    link = await create_link(
        session,
        org.id,
        ReferralLinkIn(course_kind="KIB", ends_on=date(2026, 12, 1), target_organisation=org.slug),
        base_url="http://testserver",
    )
    page = await client.get(f"/meld-interesse?ref={link.code.lower()}&lang=en")
    assert f'name="ref" value="{link.code}"' in page.text
    assert "LINK Tromsø test" in page.text
    body = await form_body(client, municipality="5501", ref=link.code)
    r = await client.post("/meld-interesse", data=body)
    assert r.status_code == 200
    row = (await session.execute(select(interest).where(interest.c.referral_id == link.id))).one()
    assert row.source == "referral" and row.organisation_id == org.id
    expired = await client.get("/meld-interesse?ref=NOSUCHLK")
    assert 'name="ref"' not in expired.text and "unknown or has expired" in expired.text


async def test_status_and_withdrawal_take_a_confirmation_step(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_org(session, ("4627",), name="LINK Askøy test")
    body = await form_body(client, phone="912 34 567", municipality="4627")
    r = await client.post("/meld-interesse", data=body)
    code = re.search(r'id="receipt-code"[^>]*>([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    token = csrf((await client.get("/status")).text)
    r = await client.post("/status", data={"_csrf_token": token, "code": code.lower()})
    assert r.status_code == 200
    # The first to wait is told so, not "0 andre venter" (issue 14).
    assert (
        "Du står på venteliste for en gruppe om sorg hos LINK Askøy test. Ingen andre venter på "
        "den ennå." in r.text
    )
    r = await client.post("/status/trekk", data={"_csrf_token": token, "code": code})
    assert "Ja, trekk meg" in r.text
    assert (await interests.status(session, code)).status == "waiting"
    r = await client.post(
        "/status/trekk", data={"_csrf_token": token, "code": code, "confirm": "yes"}
    )
    assert r.status_code == 200
    # Withdrawal erases the registration (issue 8): the code is now unknown.
    with pytest.raises(NotFound):
        await interests.status(session, code)
    r = await client.post("/status", data={"_csrf_token": token, "code": "XX"})
    assert r.status_code == 422 and summary_links(r.text) == ["code"]
    r = await client.post("/status", data={"_csrf_token": token, "code": "22222-22222"})
    assert r.status_code == 404 and 'id="code-error"' in r.text


async def test_poster_shows_link_and_qr_and_unknown_links_get_an_html_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session, ("5501",))
    link = await create_link(
        session, org.id, ReferralLinkIn(course_kind="KID", ends_on=date(2026, 12, 1)),
        base_url="http://testserver",
    )  # fmt: skip
    r = await client.get(f"/henvisning/{link.code}/plakat")
    assert r.status_code == 200
    # Printed: the short address, easy to type on a phone (issue 14); the QR keeps the full one.
    assert f"testserver/h/{link.code}" in r.text
    qr = await client.get(f"/henvisning/{link.code}/qr.svg")
    assert qr.headers["content-type"].startswith("image/svg+xml") and b"<svg" in qr.content
    missing = await client.get("/henvisning/NOSUCHLK/plakat")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")


async def test_page_weight_stays_under_100_kb(client: httpx.AsyncClient) -> None:
    """HTML plus every stylesheet and script it links, as transferred (gzip for assets)."""
    for path in PAGES:
        r = await client.get(path, headers={"Accept-Encoding": "gzip"})
        total = len(r.content)
        for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', r.text):
            a = await client.get(asset, headers={"Accept-Encoding": "gzip"})
            assert a.status_code == 200
            assert "immutable" in a.headers["cache-control"]
            total += int(a.headers["content-length"])
        assert total < 100_000, f"{path}: {total} bytes"


async def test_pages_are_gzipped_once_and_static_files_not_twice(client: httpx.AsyncClient) -> None:
    r = await client.get("/meld-interesse", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.text.startswith("<!doctype html>")
    assert int(r.headers["content-length"]) < len(r.content) / 3
    css = re.search(r'href="(/static/[^"]+\.css)"', r.text)
    assert css is not None
    style = await client.get(css.group(1), headers={"Accept-Encoding": "gzip"})
    assert style.headers["content-encoding"] == "gzip"
    assert style.text.startswith("/*")  # decoded once: plain CSS, not a second gzip layer
