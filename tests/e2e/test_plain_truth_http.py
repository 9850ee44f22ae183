"""Issue 14, "saying only what is true, clearly", over HTTP (in-process, rolled back):
first-round errors, who runs the service, the 404 page, the API's language, the poster and its
short address, the status texts and the accessibility statement."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from e2e.test_pages_http import form_body, summary_links
from helpers import interest_body, make_org
from intake.referrals import create_link
from intake.schemas import InterestStatus, ReferralLinkIn
from intake.tables import interest, organisation
from intake.web import views
from intake.web.i18n import Translator
from matching.tables import waiting_note
from samhjelp.settings import Settings

OPERATOR = "Samhjelp drift (test)"
OPERATOR_CONTACT = "post@samhjelp.test"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        public_base_url="http://testserver",
        post_rate_per_minute=1000,
        scheduler_enabled=False,
        controller_name=OPERATOR,
        controller_contact=OPERATOR_CONTACT,
    )


async def test_the_first_error_round_names_every_missing_field(
    client: httpx.AsyncClient,
) -> None:
    body = await form_body(
        client, municipality="", themes=None, age_band="", availability=None, consent=None
    )
    r = await client.post("/meld-interesse", data=body)
    assert r.status_code == 422
    # The theme used to appear only after the other fields were fixed (a second round).
    assert summary_links(r.text) == [
        "municipality",
        "theme-pa-tvers",
        "age_band",
        "slot-mon-morning",
        "consent",
    ]


@pytest.mark.parametrize("path", ["/", "/meld-interesse", "/status", "/tilgjengelighet"])
async def test_every_page_names_who_runs_the_service_and_how_to_reach_them(
    client: httpx.AsyncClient, path: str
) -> None:
    html = (await client.get(path)).text
    footer = html.split('<footer class="site-footer">', 1)[1]
    assert f"Tjenesten drives av {OPERATOR}." in footer
    assert f'href="mailto:{OPERATOR_CONTACT}"' in footer
    # The two sentences are apart ("….Kontakt:" ran together when the template trimmed the line).
    assert f"Tjenesten drives av {OPERATOR}. Kontakt:" in " ".join(footer.split())


async def test_receipt_names_the_organisation_the_person_is_registered_with(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session, ("4601",), name="LINK Bergen test")
    await session.execute(
        update(organisation)
        .where(organisation.c.id == org.id)
        .values(contact_email="post@linkbergen.test")
    )
    r = await client.post("/meld-interesse", data=await form_body(client))
    assert r.status_code == 200, r.text
    footer = r.text.split('<footer class="site-footer">', 1)[1]
    assert "Du er meldt på hos LINK Bergen test." in footer
    assert 'href="mailto:post@linkbergen.test"' in footer
    assert OPERATOR not in footer


async def test_a_mistyped_address_is_a_page_in_the_persons_language_api_keeps_problems(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get(
        "/meld-intresse", headers={"Accept": "text/html,*/*;q=0.8", "Accept-Language": "nn"}
    )
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="nn"' in page.text
    assert "Fann ikkje sida" in page.text
    assert 'href="/meld-interesse"' in page.text and 'href="/status"' in page.text
    assert "Content-Security-Policy" in page.headers
    for path, accept in (
        ("/api/v1/finnes-ikke", "text/html"),
        ("/meld-intresse", "application/json"),
    ):
        r = await client.get(path, headers={"Accept": accept})
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == 404


async def test_the_api_message_follows_accept_language(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    unserved = interest_body(municipality="4602")
    plain = await client.post("/api/v1/interests", json=unserved)
    assert plain.status_code == 201
    assert plain.json()["message"].startswith("No organisation serves")  # programs: English
    nn = await client.post(
        "/api/v1/interests", json=unserved, headers={"Accept-Language": "nn-NO,nn;q=0.9"}
    )
    assert nn.json()["message"].startswith("Ingen startar grupper i kommunen din enno")
    org = await make_org(session, ("4601",), name="LINK Bergen test")
    served = await client.post(
        "/api/v1/interests", json=interest_body(), headers={"Accept-Language": "nb"}
    )
    assert served.json()["message"] == "Du står på venteliste hos LINK Bergen test."
    code = served.json()["receipt_code"]
    # A note as the matching job leaves it, so the status has words in a language to compare.
    person = (
        await session.execute(select(interest.c.id).where(interest.c.organisation_id == org.id))
    ).scalar_one()
    await session.execute(
        waiting_note.insert().values(
            interest_id=person,
            reason={"kind": "too_few", "organisation": str(org.id), "theme": "sorg",
                    "others": 1, "needed": 4, "cross_problem_welcome": False},
            suggestion=None,
            updated_at=datetime(2026, 11, 23, tzinfo=UTC),
        )
    )  # fmt: skip
    en = await client.get(f"/api/v1/interests/{code}", headers={"Accept-Language": "en"})
    nb = await client.get(
        f"/api/v1/interests/{code}", params={"lang": "nb"}, headers={"Accept-Language": "en"}
    )
    assert en.status_code == nb.status_code == 200
    assert en.json()["explanation"] and nb.json()["explanation"]
    assert en.json()["explanation"] != nb.json()["explanation"]  # ?lang= wins over the header


async def test_the_poster_names_organisation_course_contact_and_a_short_address(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session, ("4601",), name="Lærings- og mestringssenteret test")
    await session.execute(
        update(organisation).where(organisation.c.id == org.id).values(contact_email="lms@h.test")
    )
    link = await create_link(
        session,
        org.id,
        ReferralLinkIn(course_kind="KID", ends_on=date(2026, 12, 10)),
        base_url="http://testserver",
    )
    r = await client.get(f"/henvisning/{link.code}/plakat", params={"lang": "nn"})
    assert r.status_code == 200
    html = r.text
    assert "Lærings- og mestringssenteret test" in html
    assert "KID" in html and "lms@h.test" in html
    assert f'<p class="url" id="poster-url">testserver/h/{link.code}</p>' in html
    assert "Språk på plakaten" in html and 'href="?lang=en"' in html
    # Typed on a phone, in lower case: on to the form with the referral code.
    short = await client.get(f"/h/{link.code.lower()}")
    assert short.status_code == 302
    assert short.headers["location"] == f"/meld-interesse?ref={link.code}"
    form = await client.get(short.headers["location"])
    assert f'value="{link.code}"' in form.text


def _status(**kw: object) -> InterestStatus:
    base: dict[str, object] = {
        "receipt_code": "ABCDE-FGHJK",
        "status": "waiting",
        "organisation": "LINK Oslo",
        "served": True,
        "themes": ["sorg"],
        "cross_problem_welcome": False,
        "waiting_since": datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        "others_waiting_same_theme": 0,
        "contact": None,
    }
    base.update(kw)
    return InterestStatus.model_validate(base)


def test_status_texts_say_only_what_is_true() -> None:
    nb, en = Translator("nb"), Translator("en")
    first = views.status_in_words(nb, _status())
    assert "0 andre" not in first.text
    assert "Ingen andre venter på den ennå" in first.text
    assert first.since == "tirsdag 1. desember 2026"
    assert views.status_in_words(en, _status()).since == "Tuesday 1 December 2026"
    meeting = datetime(2026, 12, 8, 17, 0, tzinfo=UTC)
    invited = views.status_in_words(
        nb,
        _status(
            status="invited",
            step="invited",
            meeting_start=meeting,
            meeting_place="Biblioteket",
            respond_by=datetime(2026, 12, 4, 17, 0, tzinfo=UTC),
            step_text="Du er invitert til første gruppemøte …",
        ),
    )
    assert "forteller deg når og hvor" not in invited.text
    assert invited.respond_by == "fredag 4. desember 2026 kl. 18:00"
    assert views.date_and_time(meeting, "en") == "Tuesday 8 December 2026 at 18:00"
    gone = views.status_in_words(nb, _status(status="withdrawn", contact=None))
    assert "Kontaktopplysning" not in gone.text
    told = views.status_in_words(nb, _status(status="withdrawn", contact="a***@example.no"))
    assert "Kontaktopplysningene dine er slettet" in told.text


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
async def test_the_accessibility_statement_has_the_public_sector_structure(
    client: httpx.AsyncClient, lang: str
) -> None:
    html = (await client.get("/tilgjengelighet", params={"lang": lang})).text
    for section in ("status", "criteria", "gaps", "tested", "contact", "dates"):
        assert f'id="{section}"' in html, section
    rows = re.findall(r'<tr><th scope="row">(\d\.\d+\.\d+) ', html)
    assert len(rows) == 50 and "1.4.10" in rows and "4.1.3" in rows
    assert f'href="mailto:{OPERATOR_CONTACT}"' in html.split('id="contact"', 1)[1]
    assert "uutilsynet.no" in html
    assert re.search(r"2026", html.split('id="dates"', 1)[1])
