"""Issue 14, "losing things", over HTTP: a lost receipt code can be re-sent to the contact the
person left, and the language switch on a page showing a code keeps the code out of URLs.

In-process app in the test's rolled-back transaction, so outbox rows can be read directly.
"""

from __future__ import annotations

import hashlib
import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from e2e.test_pages_http import csrf, form_body
from intake.crypto import ContactCipher
from intake.receipt import code_hash
from intake.recovery import ADDRESS_LIMIT, CLIENT_LIMIT
from intake.tables import interest
from notify import open_address
from notify.tables import outbox

EMAIL = "Kari.Nordmann@Example.no"


async def _sign_up(client: httpx.AsyncClient, **contact: str) -> str:
    r = await client.post("/meld-interesse", data=await form_body(client, **contact))
    assert r.status_code == 200, r.text
    m = re.search(r'id="receipt-code"[^>]*>([^<]+)<', r.text)
    assert m
    return m.group(1).strip()


async def _status(client: httpx.AsyncClient, code: str) -> int:
    page = await client.get("/status")
    r = await client.post("/status", data={"_csrf_token": csrf(page.text), "code": code})
    return r.status_code


async def _ask(client: httpx.AsyncClient, contact: str, lang: str = "nb") -> httpx.Response:
    page = await client.get("/status/ny-kode", params={"lang": lang})
    return await client.post(
        "/status/ny-kode",
        data={"_csrf_token": csrf(page.text), "contact": contact, "lang": lang},
    )


def _answer(html: str) -> str:
    m = re.search(r'<main id="main".*?</main>', html, re.S)
    assert m
    return m.group(0)


async def _codes_sent(session: AsyncSession) -> list[tuple[str, str, str]]:
    rows = (
        await session.execute(
            select(outbox.c.recipient, outbox.c.body_text, outbox.c.channel).where(
                outbox.c.template == "receipt_code"
            )
        )
    ).all()
    return [(r.recipient, r.body_text, r.channel) for r in rows]


async def test_a_new_code_goes_to_the_contact_and_the_old_one_stops_working(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    old = await _sign_up(client, email=EMAIL)
    assert await _status(client, old) == 200
    # The address typed differently (case, spaces) still finds the sign-up.
    r = await _ask(client, "  kari.nordmann@example.NO ", lang="nn")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    [(recipient, body, channel)] = await _codes_sent(session)
    assert channel == "email"
    assert open_address(cipher, recipient).lower() == EMAIL.lower()
    m = re.search(r"[0-9A-Z]{5}-[0-9A-Z]{5}", body)
    assert m and m.group(0) != old
    assert "Den nye koden din" in body  # in the language of the page that asked
    new = m.group(0)
    assert await _status(client, new) == 200
    assert await _status(client, old) == 404
    # Only the hash of the new code is stored, as at sign-up.
    hashes = (await session.execute(select(interest.c.receipt_hash))).scalars().all()
    assert code_hash(new) in hashes and code_hash(old) not in hashes
    # Withdrawing erases the person, and with them the message that carried the new code.
    page = await client.get("/status")
    r = await client.post(
        "/status/trekk", data={"_csrf_token": csrf(page.text), "code": new, "confirm": "yes"}
    )
    assert r.status_code == 200
    assert [body for _, body, _ in await _codes_sent(session)] == [None]


async def test_the_same_answer_whether_or_not_the_address_is_registered(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    code = await _sign_up(client, phone="912 34 567")
    unknown = await _ask(client, "nobody@example.no")
    known = await _ask(client, "+47 91234567")
    assert unknown.status_code == known.status_code == 200
    strip = re.compile(r'name="_csrf_token" value="[^"]+"')
    assert strip.sub("", _answer(unknown.text)) == strip.sub("", _answer(known.text))
    sent = await _codes_sent(session)
    assert [channel for _, _, channel in sent] == ["sms"]  # only for the registered number
    assert await _status(client, code) == 404  # it was re-issued


async def test_a_person_without_contact_is_told_what_to_do(client: httpx.AsyncClient) -> None:
    page = await client.get("/status", params={"lang": "en"})
    r = await client.post("/status", data={"_csrf_token": csrf(page.text), "code": "K7M4Q-XR9TB"})
    assert r.status_code == 404
    assert 'href="/status/ny-kode"' in r.text
    assert "If you left no contact details, we cannot send a new code" in r.text
    r = await _ask(client, "not an address", lang="en")
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text


async def test_asking_is_rate_limited_per_client_and_per_address(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _sign_up(client, email=EMAIL)
    per_address, _ = ADDRESS_LIMIT
    per_client, _ = CLIENT_LIMIT
    assert per_address < per_client
    for _ in range(per_client):
        assert (await _ask(client, EMAIL)).status_code == 200
    # The address got at most ADDRESS_LIMIT messages, however often it was asked for.
    assert len(await _codes_sent(session)) == per_address
    r = await _ask(client, EMAIL)
    assert r.status_code == 429
    assert len(await _codes_sent(session)) == per_address


async def test_the_lookup_digest_holds_no_plaintext(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    await _sign_up(client, email=EMAIL)
    [digest] = (await session.execute(select(interest.c.contact_lookup))).scalars().all()
    assert digest is not None and len(digest) == 32
    for form in (EMAIL, EMAIL.lower(), "email:" + EMAIL.lower()):
        assert form.encode() not in digest
        assert digest != hashlib.sha256(form.encode()).digest()  # keyed, not a plain hash
    assert digest == cipher.lookup_digest("email", EMAIL.upper())
    assert digest != ContactCipher(bytes(32)).lookup_digest("email", EMAIL)


async def test_the_receipt_switch_posts_the_code_and_keeps_the_receipt(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/meld-interesse", data=await form_body(client, email=EMAIL))
    code = re.search(r'id="receipt-code"[^>]*>([^<]+)<', r.text).group(1).strip()  # type: ignore[union-attr]
    header = re.search(r'<header class="site-header">.*?</header>', r.text, re.S).group(0)  # type: ignore[union-attr]
    # A form that posts the code, not links that would drop it (or put it in the URL).
    assert 'href="?lang=' not in header
    assert '<form method="post" action="/kvittering">' in header
    assert f'name="code" value="{code}"' in header
    r = await client.post(
        "/kvittering",
        data={"_csrf_token": csrf(r.text), "code": code, "lang": "nn", "switch": "yes"},
    )
    assert r.status_code == 200
    assert '<html lang="nn"' in r.text and f">{code}<" in r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.cookies.get("lang") == "nn"
    # The status result's switch posts back to the status page with the code.
    page = await client.get("/status")
    r = await client.post("/status", data={"_csrf_token": csrf(page.text), "code": code})
    assert '<form method="post" action="/status">' in r.text.split("</header>")[0]
