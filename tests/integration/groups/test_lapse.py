"""Registrations that lapse (intake.lapse, groups.lapse) on real PostgreSQL and a real SMTP
server: one notice, then erasure through the one erasure path with outcome 'lapsed'; nobody in
a group or placed lapses; a confirmation moves the date; concurrent runs erase and count once."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from groups import Lifecycle
from groups.lapse import LAPSE_LOCK, run_lapse
from helpers import interest_body, make_org
from intake import lapse, nudges, pool
from intake.crypto import ContactCipher
from intake.interests import register
from intake.lapse import LapsePolicy
from intake.receipt import code_hash
from intake.schemas import InterestIn
from intake.tables import interest, interest_tally, organisation, referral
from integration.groups.support import deliver, parse
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import RecordingSmtpServer
from samhjelp.app import Services

Maker = async_sessionmaker[AsyncSession]
POLICY = LapsePolicy()
KEEP_LINK = re.compile(r"http://testserver/behold/([A-Za-z0-9_-]{28})\b")


def maker_of(conn: AsyncConnection) -> Maker:
    return async_sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


async def signed_up(
    session: AsyncSession,
    cipher: ContactCipher,
    when: Any,
    *,
    contact: dict[str, str] | None = None,
    lang: str = "nb",
    municipality: str = "4601",
) -> tuple[uuid.UUID, str]:
    body = interest_body(municipality=municipality, suggestion_language=lang)
    if contact:
        body["contact"] = contact
    done = await register(
        session, InterestIn.model_validate(body), cipher=cipher, source="self", now=when
    )
    iid = await session.scalar(
        select(interest.c.id).where(interest.c.receipt_hash == code_hash(done.receipt_code))
    )
    assert iid is not None
    return uuid.UUID(str(iid)), done.receipt_code


async def notices(session: AsyncSession) -> int:
    n = await session.scalar(
        select(func.count()).select_from(outbox).where(outbox.c.template == "lapse_notice")
    )
    return int(n or 0)


async def tally(session: AsyncSession, org_id: uuid.UUID) -> dict[tuple[str, str, str], int]:
    rows = await session.execute(
        select(
            interest_tally.c.dimension,
            interest_tally.c.value,
            interest_tally.c.outcome,
            func.sum(interest_tally.c.count),
        )
        .where(interest_tally.c.organisation_id == org_id)
        .group_by(interest_tally.c.dimension, interest_tally.c.value, interest_tally.c.outcome)
    )
    return {(d, v, o): int(n) for d, v, o, n in rows}


async def test_one_notice_then_erasure_counted_once_as_lapsed(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    services: Services,
    client: Any,
    smtp_server: RecordingSmtpServer,
) -> None:
    maker = maker_of(conn)
    lc: Lifecycle = services.lifecycle
    org = await make_org(session, ("4601",), name="LINK Bergen lapse")
    now = clock.now
    told, told_code = await signed_up(
        session, cipher, now - timedelta(days=340), contact={"email": "nn@example.no"}, lang="nn"
    )
    fresh, _ = await signed_up(
        session, cipher, now - timedelta(days=10), contact={"email": "f@x.no"}
    )
    silent, silent_code = await signed_up(session, cipher, now - timedelta(days=340))
    await session.commit()

    first = await run_lapse(maker, lc, POLICY, now=now)
    assert (first.ran, first.notices, first.lapsed) == (True, 1, 0)
    # Hourly-ish for 24 days: never a second message, nobody erased yet.
    for hours in range(1, 24 * 24, 11):
        again = await run_lapse(maker, lc, POLICY, now=now + timedelta(hours=hours))
        assert (again.notices, again.lapsed) == (0, 0)
    assert await notices(session) == 1

    notifier = SmtpNotifier(
        "127.0.0.1", smtp_server.port, "noreply@example.no", tls="none", timeout=5
    )
    assert (await deliver(maker, notifier, cipher, now))["sent"] == 1
    [raw] = smtp_server.messages
    mail = parse(raw)
    assert mail.to == "nn@example.no"
    assert mail.subject == "Vil du framleis vere med i ei sjølvhjelpsgruppe?"
    assert "Påmeldinga di blir sletta" in mail.text and "LINK Bergen lapse" in mail.text
    assert "sorg" not in mail.text.lower()  # the theme is never named
    [token] = KEEP_LINK.findall(mail.text)
    row = (await session.execute(select(interest).where(interest.c.id == told))).mappings().one()
    assert str(told) not in mail.text
    assert row["lapse_link_hash"] == nudges.token_hash(token[:12], purpose="lapse")

    # The one without a contact was told nothing and goes at the year's end (25 days on); the
    # one who was told keeps the full notice period after the message.
    later = await run_lapse(maker, lc, POLICY, now=now + timedelta(days=25))
    assert (later.notices, later.lapsed) == (0, 1)
    assert await session.scalar(select(interest.c.id).where(interest.c.id == silent)) is None
    assert await session.scalar(select(interest.c.id).where(interest.c.id == told)) == told
    status = await client.get(f"/api/v1/interests/{told_code}")
    assert status.json()["keep_until"].startswith((now + timedelta(days=30)).date().isoformat())

    last = await run_lapse(maker, lc, POLICY, now=now + timedelta(days=30, minutes=1))
    assert last.lapsed == 1
    gone = await session.scalar(select(func.count()).where(interest.c.id.in_([told, silent])))
    assert gone == 0
    assert await session.scalar(select(interest.c.id).where(interest.c.id == fresh)) == fresh
    # Nothing of the message points at the person any more (the one erasure path).
    assert (
        await session.scalar(
            select(func.count()).where(outbox.c.recipient_ref == f"interest:{told}")
        )
        == 0
    )
    counts = await tally(session, org.id)
    assert counts[("all", "all", "lapsed")] == 2
    assert counts[("theme", "sorg", "lapsed")] == 2
    assert counts[("source", "self", "lapsed")] == 2
    assert not any(d == "wait_weeks" for d, _, _ in counts)  # as withdrawn: no wait
    # Running again counts nothing twice.
    assert (await run_lapse(maker, lc, POLICY, now=now + timedelta(days=31))).lapsed == 0
    assert (await tally(session, org.id))[("all", "all", "lapsed")] == 2
    # The codes now answer like codes never issued.
    for code in (told_code, silent_code):
        assert (await client.get(f"/api/v1/interests/{code}")).status_code == 404
    assert (await client.get("/api/v1/interests/22222-22222")).status_code == 404


async def test_nobody_in_a_group_or_placed_lapses_and_a_return_is_a_sign_of_life(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    services: Services,
) -> None:
    maker = maker_of(conn)
    await make_org(session, ("4601",))
    long_ago = clock.now - timedelta(days=500)
    people = {
        status: (await signed_up(session, cipher, long_ago, contact={"email": f"{status}@x.no"}))[0]
        for status in ("proposed", "invited", "placed", "returned")
    }
    await pool.set_status(session, [people["proposed"]], "proposed", now=long_ago)
    await pool.set_status(session, [people["invited"]], "invited", now=long_ago)
    await pool.set_status(session, [people["placed"]], "placed", now=long_ago)
    # Back in the pool (a group that did not start) two days ago: a new period starts.
    back = clock.now - timedelta(days=2)
    await pool.set_status(session, [people["returned"]], "proposed", now=long_ago)
    await pool.set_status(session, [people["returned"]], "waiting", now=back)
    await session.commit()

    report = await run_lapse(maker, services.lifecycle, POLICY, now=clock.now)
    assert (report.notices, report.lapsed) == (0, 0)
    left = await session.scalar(
        select(func.count()).where(interest.c.id.in_(list(people.values())))
    )
    assert left == 4
    until = await lapse.keep_until(session, people["returned"], POLICY, now=clock.now)
    assert until == back + POLICY.after
    assert await lapse.keep_until(session, people["placed"], POLICY, now=clock.now) is None


async def test_a_confirmation_moves_keep_until_and_the_old_link_stops(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    services: Services,
    client: Any,
) -> None:
    maker = maker_of(conn)
    await make_org(session, ("4601",))
    now = clock.now
    iid, code = await signed_up(
        session, cipher, now - timedelta(days=350), contact={"phone": "912 34 567"}
    )
    await session.commit()
    assert (await run_lapse(maker, services.lifecycle, POLICY, now=now)).notices == 1
    body = await session.scalar(select(outbox.c.body_text).where(outbox.c.channel == "sms"))
    assert body is not None and len(body) <= 160
    [token] = re.findall(r"/behold/([A-Za-z0-9_-]{28})", body)

    clock.advance(days=3)
    kept = await client.post(f"/api/v1/interests/{code}/keep", json={})
    assert kept.status_code == 200, kept.text
    assert kept.json()["keep_until"].startswith((clock.now + POLICY.after).date().isoformat())
    status = (await client.get(f"/api/v1/interests/{code}")).json()
    assert status["keep_until"] == kept.json()["keep_until"]
    # The notice's deadline passes: nothing lapses, and the used link no longer works.
    report = await run_lapse(maker, services.lifecycle, POLICY, now=now + timedelta(days=40))
    assert report.lapsed == 0
    assert (await client.get(f"/behold/{token}")).status_code == 404
    # A new period, a new message in due time (a year after the confirmation, less the notice).
    due = clock.now + POLICY.after - POLICY.notice
    assert (await run_lapse(maker, services.lifecycle, POLICY, now=due)).notices == 1
    assert await notices(session) == 2
    row = (await session.execute(select(interest).where(interest.c.id == iid))).mappings().one()
    assert row["alive_at"] == clock.now


async def test_a_held_lock_skips_the_run(
    conn: AsyncConnection,
    engine: AsyncEngine,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    services: Services,
) -> None:
    await make_org(session, ("4601",))
    await signed_up(session, cipher, clock.now - timedelta(days=400))
    await session.commit()
    async with engine.connect() as other:
        await other.execute(select(func.pg_advisory_lock(LAPSE_LOCK)))
        try:
            skipped = await run_lapse(maker_of(conn), services.lifecycle, POLICY, now=clock.now)
        finally:
            await other.execute(select(func.pg_advisory_unlock(LAPSE_LOCK)))
    assert skipped.ran is False and skipped.lapsed == 0
    assert (await run_lapse(maker_of(conn), services.lifecycle, POLICY, now=clock.now)).lapsed == 1


async def test_concurrent_runs_on_replicas_notify_erase_and_count_once(
    engine: AsyncEngine, cipher: ContactCipher, clock: Any, services: Services
) -> None:
    """Three runs at once on their own connections (as three replicas), in small batches: each
    person gets one message, and each lapsed registration is erased and counted exactly once,
    in the tally and in the referral's counter."""
    maker = async_sessionmaker(engine, expire_on_commit=False)
    # Committed (three connections): a municipality no other test uses, removed afterwards.
    muni = "1834"
    async with maker.begin() as s:
        org = await make_org(s, (muni,))
        rid = await s.scalar(
            referral.insert()
            .values(id=uuid.uuid4(), organisation_id=org.id, course_kind="KID")
            .returning(referral.c.id)
        )
        lapsing = [
            (await signed_up(s, cipher, clock.now - timedelta(days=400 + i), municipality=muni))[0]
            for i in range(7)
        ]
        await s.execute(update(interest).where(interest.c.id.in_(lapsing)).values(referral_id=rid))
        told = [
            (await signed_up(s, cipher, clock.now - timedelta(days=340), municipality=muni,
                             contact={"email": f"r{i}@x.no"}))[0]
            for i in range(5)
        ]  # fmt: skip
    try:
        reports = await asyncio.gather(
            *(
                run_lapse(maker, services.lifecycle, POLICY, now=clock.now, batch_size=2)
                for _ in range(3)
            )
        )
        # Whoever got the lock did the work; together exactly once.
        assert sum(r.lapsed for r in reports) == 7
        assert sum(r.notices for r in reports) == 5
        again = await run_lapse(maker, services.lifecycle, POLICY, now=clock.now)
        assert (again.lapsed, again.notices) == (0, 0)
        async with maker() as s:
            per_person = (
                await s.execute(
                    select(outbox.c.recipient_ref, func.count())
                    .where(outbox.c.recipient_ref.in_([f"interest:{i}" for i in told]))
                    .group_by(outbox.c.recipient_ref)
                )
            ).all()
            assert sorted(n for _, n in per_person) == [1] * 5
            assert (await tally(s, org.id))[("all", "all", "lapsed")] == 7
            assert await s.scalar(select(referral.c.erased_lapsed).where(referral.c.id == rid)) == 7
            assert await s.scalar(select(func.count()).where(interest.c.id.in_(lapsing))) == 0
    finally:
        async with maker.begin() as s:
            await s.execute(
                delete(outbox).where(outbox.c.recipient_ref.in_([f"interest:{i}" for i in told]))
            )
            await s.execute(delete(interest).where(interest.c.organisation_id == org.id))
            await s.execute(
                delete(interest_tally).where(interest_tally.c.organisation_id == org.id)
            )
            await s.execute(delete(referral).where(referral.c.organisation_id == org.id))
            await s.execute(delete(organisation).where(organisation.c.id == org.id))
