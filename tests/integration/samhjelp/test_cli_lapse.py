"""``samhjelp lapse run``: the hourly lapse job by hand, in its own process.

Two waiting people are committed in Haugesund (1106, no other test commits rows there): one
signed up 340 days ago with an e-mail address (the notice is due: keep-until in 25 days), one
400 days ago without a contact (past keep-until: erased, counted as lapsed). The command sends
the one notice into the folder channel, erases the other through the one erasure path, and a
second run does nothing more; ``--at`` past the notice period erases the first as well.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from helpers import make_org, run_cli
from intake.crypto import ContactCipher
from intake.tables import interest, interest_tally, organisation
from integration.groups.test_lapse import signed_up
from notify.tables import outbox

MUNI = "1106"
TEST_KEY = bytes(range(32))  # the cipher fixture's key
SECRET = "cli-lapse-link-secret-" + "x" * 32


async def _cli(database_url: str, *args: str) -> tuple[int, str, str]:
    done = await asyncio.to_thread(run_cli, database_url, *args)
    return done.returncode, done.stdout, done.stderr


async def test_lapse_run_sends_the_due_notice_and_erases_what_has_lapsed(
    engine: AsyncEngine,
    database_url: str,
    cipher: ContactCipher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAMHJELP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SAMHJELP_CONTACT_KEY", TEST_KEY.hex())
    monkeypatch.setenv("SAMHJELP_LINK_SECRET", SECRET)
    monkeypatch.setenv("SAMHJELP_MAIL_CHANNEL", "folder")
    maker = async_sessionmaker(engine, expire_on_commit=False)
    now = datetime.now(UTC)
    async with maker.begin() as s:
        org = await make_org(s, (MUNI,), name="Haugesund lapse")
        told, _ = await signed_up(
            s, cipher, now - timedelta(days=340), contact={"email": "lapse-cli@example.no"},
            municipality=MUNI,
        )  # fmt: skip
        silent, _ = await signed_up(s, cipher, now - timedelta(days=400), municipality=MUNI)

    async def left() -> set[uuid.UUID]:
        async with maker() as s:
            rows = await s.execute(select(interest.c.id).where(interest.c.id.in_([told, silent])))
            return {uuid.UUID(str(r)) for r in rows.scalars()}

    async def lapsed_count() -> int:
        async with maker() as s:
            n = await s.scalar(
                select(func.coalesce(func.sum(interest_tally.c.count), 0)).where(
                    interest_tally.c.organisation_id == org.id,
                    interest_tally.c.dimension == "all",
                    interest_tally.c.outcome == "lapsed",
                )
            )
            return int(n or 0)

    try:
        assert await left() == {told, silent}
        rc, out, err = await _cli(database_url, "lapse", "run")
        assert rc == 0, err
        assert "lapse job ran at" in out
        assert "notices: " in out and "lapsed: " in out
        assert await left() == {told}  # the silent one is erased, the told one kept
        assert await lapsed_count() == 1
        mails = [m.read_text(errors="replace") for m in (tmp_path / "outbox").glob("*.eml")]
        assert any("lapse-cli@example.no" in m and "/behold/" in m for m in mails), mails
        assert "delivered" in out and "to the folder" in out

        # Again at once: nothing more is due (one notice per period, nobody else lapsed).
        rc, out, err = await _cli(database_url, "lapse", "run", "--no-deliver")
        assert rc == 0, err
        assert await left() == {told} and await lapsed_count() == 1
        assert "delivered" not in out

        # Past the notice period: the one who was told goes too.
        rc, out, err = await _cli(database_url, "lapse", "run", "--at", "+31d", "--no-deliver")
        assert rc == 0, err
        assert "ahead of the clock" in out
        assert await left() == set() and await lapsed_count() == 2
    finally:
        async with maker.begin() as s:
            people = [told, silent]
            await s.execute(
                delete(outbox).where(
                    outbox.c.recipient_ref.in_([f"interest:{p}" for p in people])
                    | (outbox.c.organisation_id == org.id)
                )
            )
            await s.execute(delete(interest).where(interest.c.id.in_(people)))
            await s.execute(
                delete(interest_tally).where(interest_tally.c.organisation_id == org.id)
            )
            await s.execute(delete(organisation).where(organisation.c.id == org.id))
