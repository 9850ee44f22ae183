"""Screenshots of the staff console (and the public /statistikk) for the README, into
docs/screenshots/.

Against a running demo server in a fresh database, with the server's own environment (the
commands below must reach the same database and data directory)::

    export DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/samhjelp_shots
    export SAMHJELP_DATA_DIR=/tmp/shots SAMHJELP_PUBLIC_BASE_URL=http://localhost:8125
    createdb -h 127.0.0.1 -U postgres samhjelp_shots
    .venv/bin/samhjelp serve --demo --port 8125 &
    .venv/bin/python tools/console_screenshots.py --base http://localhost:8125

The base URL is ``localhost``, not 127.0.0.1: WebAuthn refuses an IP address as relying party.

Preparation (skipped with ``--no-prepare``, for a second run on the same database): an
administrator by ``samhjelp user add``; twelve people registered through the public API in LINK
Bergen's municipality, eight of them alike enough for one group and four who keep waiting;
``samhjelp match run``; one statistics refresh (the hourly job's ``run_refresh``). Then the
administrator signs in the way a person does: the link from the newest mail in the outbox, a
passkey on Chromium's virtual authenticator (over CDP).
"""

from __future__ import annotations

import argparse
import asyncio
import email
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from email import policy
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import BrowserContext, Page, async_playwright
from screenshots import ARGS, CHROMIUM, OUT

SAMHJELP = str(Path(sys.executable).with_name("samhjelp"))
ADMIN = ("Astrid Administrator", "astrid.admin@example.no")
MUNICIPALITY = "4601"  # Bergen: LINK Bergen og omegn, region Vestland
REGION = "vestland"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

#: (themes, age band, slots, languages, e-mail or None). The first eight share a theme, a slot
#: and a language within the age span: one group. The last four match nobody yet.
PEOPLE: list[tuple[list[str], str, list[str], list[str], str | None]] = [
    (["sorg"], "33-37", ["tue-evening", "thu-evening"], ["no"], "kari@example.no"),
    (["sorg", "ensomhet"], "38-42", ["tue-evening"], ["no"], None),
    (["sorg"], "43-47", ["tue-evening", "wed-evening"], ["no", "en"], "ola@example.no"),
    (["sorg", "depresjon"], "33-37", ["tue-evening"], ["no"], None),
    (["sorg"], "48-52", ["mon-evening", "tue-evening"], ["no"], "+47 912 34 567"),
    (["sorg", "livskriser"], "38-42", ["tue-evening", "thu-evening"], ["no"], None),
    (["sorg"], "43-47", ["tue-evening"], ["no"], "siri@example.no"),
    (["sorg"], "38-42", ["tue-evening", "fri-morning"], ["no"], None),
    (["angst"], "23-27", ["wed-morning"], ["no"], "ali@example.no"),
    (["angst", "stress"], "28-32", ["wed-morning"], ["no"], None),
    (["depresjon"], "63-67", ["mon-morning"], ["pl"], None),
    (["ensomhet"], "73-77", ["fri-daytime"], ["ar"], "+47 987 65 432"),
]


def samhjelp(*args: str) -> str:
    """One ``samhjelp`` command in this environment; its output, or exit on failure."""
    # S603: the arguments are this file's own constants.
    done = subprocess.run([SAMHJELP, *args], capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode:
        raise SystemExit(f"samhjelp {' '.join(args)}: {done.stderr.strip()[-400:]}")
    return done.stdout


async def refresh_statistics() -> None:
    """What the hourly ``statistics`` job does, once (there is no command for it)."""
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from figures.refresh import run_refresh
    from samhjelp.bootstrap import resolve_database_url
    from samhjelp.settings import Settings

    engine = create_async_engine(resolve_database_url(Settings()))
    report = await run_refresh(async_sessionmaker(engine), now=datetime.now(UTC))
    await engine.dispose()
    print("statistics:", report.summary())


async def prepare(base: str) -> None:
    if ADMIN[1] not in samhjelp("user", "list"):
        samhjelp("user", "add", "--name", ADMIN[0], "--email", ADMIN[1], "--role", "administrator")
    async with httpx.AsyncClient(base_url=base) as api:
        consent = (await api.get("/api/v1/consent")).json()["version"]
        for themes, age, slots, languages, contact in PEOPLE:
            body: dict[str, Any] = {
                "municipality": MUNICIPALITY,
                "themes": themes,
                "age_band": age,
                "availability": slots,
                "languages": languages,
                "consent": {"given": True, "text_version": consent},
            }
            if contact:
                body["contact"] = {"phone" if contact.startswith("+") else "email": contact}
            answer = await api.post("/api/v1/interests/", json=body)
            if answer.status_code != 201:
                raise SystemExit(f"registering {body}: {answer.status_code} {answer.text}")
    print(samhjelp("match", "run", "--show", "0").strip()[-600:])
    await refresh_statistics()


def sign_in_link(outbox: Path, since: float) -> str:
    """The link in the newest mail to the administrator (the server writes it to the outbox)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        mails = [f for f in outbox.glob("*.eml") if f.stat().st_mtime >= since]
        for f in sorted(mails, key=lambda f: f.stat().st_mtime, reverse=True):
            with f.open("rb") as fh:
                msg = email.message_from_binary_file(fh, policy=policy.default)
            if ADMIN[1] in str(msg["To"]):
                body = msg.get_body(("plain",))
                found = re.search(
                    r"https?://\S+/ansatt/lenke/\S+", body.get_content() if body else ""
                )  # type: ignore[attr-defined]
                if found:
                    return found.group(0)
        time.sleep(0.5)
    raise SystemExit(f"no sign-in mail for {ADMIN[1]} in {outbox}")


async def shoot(page: Page, name: str) -> None:
    await page.screenshot(path=str(OUT / name), full_page=True)
    wide = await page.evaluate("document.documentElement.scrollWidth")
    inner = await page.evaluate("window.innerWidth")
    print(f"{name}: {page.url}" + (f"  OVERFLOW scrollWidth={wide}" if wide > inner else ""))


async def sign_in(context: BrowserContext, base: str, outbox: Path) -> Page:
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
    }
    await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    await page.goto(f"{base}/ansatt?lang=nb")
    await shoot(page, "console-sign-in-nb-375.png")
    since = time.time() - 1
    await page.fill("#email", ADMIN[1])
    await page.locator("form.sign-in button").click()
    await page.wait_for_load_state()
    await page.goto(sign_in_link(outbox, since))
    await page.locator("main form button").first.click()
    await page.wait_for_load_state()
    await page.goto(f"{base}/ansatt/venteliste")  # personal data: asks for the second factor
    if "/to-faktor" in page.url:  # the first sign-in: add a passkey as the second factor
        await page.fill("#passkey-label", "Denne maskinen")
        await page.locator("[data-passkey=register]").click()
        await page.wait_for_url(lambda url: "/to-faktor" not in url, timeout=15000)
    return page


async def first_link(page: Page, prefix: str) -> str:
    hrefs = await page.eval_on_selector_all(
        f"main a[href^='{prefix}']", "els => els.map(e => e.getAttribute('href'))"
    )
    found = [h for h in hrefs if re.fullmatch(f"{prefix}{UUID}", h)]
    if not found:
        raise SystemExit(f"no link to {prefix}… on {page.url}: was the preparation run?")
    return str(found[0])


async def console(base: str, outbox: Path) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(viewport=PHONE, locale="nb-NO")
        page = await sign_in(context, base, outbox)
        await page.goto(f"{base}/ansatt?lang=nb")
        await shoot(page, "console-today-nb-375.png")
        await page.goto(f"{base}/ansatt/venteliste")
        await shoot(page, "console-waiting-nb-375.png")
        await page.goto(base + await first_link(page, "/ansatt/venteliste/"))
        await shoot(page, "console-person-nb-375.png")
        await page.goto(f"{base}/ansatt/grupper")
        group = await first_link(page, "/ansatt/grupper/")
        await page.goto(base + group)
        await shoot(page, "console-group-nb-375.png")
        await page.goto(f"{base}/ansatt/igangsettere")
        await shoot(page, "console-facilitators-nb-375.png")
        await page.set_viewport_size(DESKTOP)
        await page.goto(f"{base}/ansatt/region?region={REGION}")
        await shoot(page, "console-region-nb-1280.png")
        await page.goto(f"{base}/ansatt/grupper")
        await shoot(page, "console-groups-nb-1280.png")
        public = await browser.new_context(viewport=PHONE, locale="nb-NO")
        page = await public.new_page()
        await page.goto(f"{base}/statistikk?lang=nb")
        await shoot(page, "statistikk-nb-375.png")
        await browser.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="http://localhost:8125")
    ap.add_argument("--no-prepare", action="store_true", help="the content exists already")
    args = ap.parse_args()
    from samhjelp.bootstrap import notify_settings
    from samhjelp.settings import Settings

    outbox = notify_settings(Settings()).outbox_dir
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.no_prepare:
        await prepare(args.base)
    await console(args.base, Path(outbox))
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
