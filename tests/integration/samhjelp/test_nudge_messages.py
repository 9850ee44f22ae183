"""The monthly suggestion message (issue 13 §2) on real PostgreSQL and a real SMTP server:
at most one a month, only to people who opted in, have a contact and a change that places them
now; safe when runs race."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from groups import Lifecycle
from helpers import interest_body, make_org
from intake import nudges
from intake.crypto import ContactCipher
from intake.interests import register
from intake.receipt import code_hash
from intake.schemas import InterestIn
from intake.tables import interest
from integration.groups.support import deliver, parse
from matching.tables import waiting_note
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import RecordingSmtpServer
from samhjelp.app import Services
from samhjelp.nudges import NUDGE_LOCK, run_nudges

Maker = async_sessionmaker[AsyncSession]
LINK = re.compile(r"http://testserver/forslag/([A-Za-z0-9_-]{28})\b")
SECRET = "nudge-test-secret-" + "x" * 30
DIGITAL_NOW: list[dict[str, Any]] = [{"kind": "welcome_digital", "value": None, "soon": False}]
REASON = {
    "kind": "too_few",
    "organisation": "x",
    "theme": "sorg",
    "others": 2,
    "needed": 4,
    "cross_problem_welcome": False,
}


async def person(
    session: AsyncSession,
    cipher: ContactCipher,
    now: Any,
    *,
    contact: dict[str, str] | None = None,
    opted_in: bool = True,
    lang: str = "nb",
    suggestions: list[dict[str, Any]] | None = None,
) -> uuid.UUID:
    body = interest_body(suggestion_messages=opted_in and contact is not None)
    if contact is not None:
        body["contact"] = contact
        body["suggestion_language"] = lang
    done = await register(
        session, InterestIn.model_validate(body), cipher=cipher, source="self", now=now
    )
    iid = await session.scalar(
        select(interest.c.id).where(interest.c.receipt_hash == code_hash(done.receipt_code))
    )
    assert iid is not None
    if suggestions is not None:
        await session.execute(
            waiting_note.insert().values(
                interest_id=iid,
                reason=REASON,
                suggestion=suggestions[0] if suggestions else None,
                suggestions=suggestions,
                updated_at=now,
            )
        )
    return uuid.UUID(str(iid))


def maker_of(conn: AsyncConnection) -> Maker:
    return async_sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


async def messages(session: AsyncSession) -> int:
    n = await session.scalar(
        select(func.count()).select_from(outbox).where(outbox.c.template == "suggestion_offer")
    )
    return int(n or 0)


async def test_one_message_a_month_however_often_the_job_runs(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    services: Services,
    smtp_server: RecordingSmtpServer,
) -> None:
    maker = maker_of(conn)
    lc: Lifecycle = services.lifecycle
    await make_org(session, ("4601",), name="LINK Bergen nudge")
    await person(
        session, cipher, clock.now, contact={"email": "nn@example.no"}, lang="nn",
        suggestions=DIGITAL_NOW,
    )  # fmt: skip
    await session.commit()
    first = await run_nudges(maker, lc, now=clock.now)
    assert (first.considered, first.sent) == (1, 1)
    for hours in range(1, 30 * 24, 7):  # hourly-ish for a month: nothing more
        assert (await run_nudges(maker, lc, now=clock.now + timedelta(hours=hours))).sent == 0
    assert await messages(session) == 1

    notifier = SmtpNotifier(
        "127.0.0.1", smtp_server.port, "noreply@example.no", tls="none", timeout=5
    )
    assert (await deliver(maker, notifier, cipher, clock.now))["sent"] == 1
    [raw] = smtp_server.messages
    mail = parse(raw)
    assert mail.to == "nn@example.no"
    assert mail.subject == "Ei lita endring kan gi deg plass i ei sjølvhjelpsgruppe no"
    assert "LINK Bergen nudge" in mail.text and "stoppe desse meldingane" in mail.text
    assert "sorg" not in mail.text.lower()  # the theme is not named in this message
    [token] = LINK.findall(mail.text)
    # The link carries no personal data: no id, no address; only its nonce's hash is stored,
    # and it is signed with the link secret.
    row = (await session.execute(select(interest))).mappings().one()
    assert str(row["id"]) not in mail.text and row["suggestion_link_hash"] != token.encode()
    assert row["suggestion_link_hash"] == nudges.token_hash(token[: nudges.NONCE_CHARS])
    assert token == nudges.signed(lc.link_secret, row["id"], row["suggestion_sent_at"],
                                  token[: nudges.NONCE_CHARS])  # fmt: skip
    assert row["suggestion_offer"] == [{"kind": "welcome_digital", "value": None}]

    # After 30 days, the next one.
    later = await run_nudges(maker, lc, now=clock.now + timedelta(days=30))
    assert later.sent == 1 and await messages(session) == 2


async def test_nobody_else_gets_one(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    services: Services,
) -> None:
    maker = maker_of(conn)
    await make_org(session, ("4601",))
    now = clock.now
    await person(session, cipher, now, contact={"email": "a@example.no"}, opted_in=False,
                 suggestions=DIGITAL_NOW)  # fmt: skip
    await person(session, cipher, now, contact=None, suggestions=DIGITAL_NOW)
    await person(session, cipher, now, contact={"email": "c@example.no"}, suggestions=[])
    await person(session, cipher, now, contact={"email": "d@example.no"})  # no note
    soon = [{"kind": "add_slot", "value": "mon-evening", "soon": True}]
    await person(session, cipher, now, contact={"email": "e@example.no"}, suggestions=soon)
    placed = await person(
        session, cipher, now, contact={"email": "f@example.no"}, suggestions=DIGITAL_NOW
    )
    await session.execute(
        interest.update().where(interest.c.id == placed).values(status="proposed")
    )
    await session.commit()
    report = await run_nudges(maker, services.lifecycle, now=now)
    assert report.sent == 0 and await messages(session) == 0


async def test_sms_in_english_and_a_held_lock_skips_the_run(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    services: Services,
    engine: Any,
) -> None:
    maker = maker_of(conn)
    await make_org(session, ("4601",))
    slot: list[dict[str, Any]] = [
        {"kind": "add_slot", "value": "mon-evening", "soon": False},
        *DIGITAL_NOW,
    ]
    await person(session, cipher, clock.now, contact={"phone": "91234567"}, lang="en",
                 suggestions=slot)  # fmt: skip
    await session.commit()
    # Another replica holds the job's lock: this run does nothing.
    async with engine.connect() as other:
        await other.execute(select(func.pg_advisory_lock(NUDGE_LOCK)))
        try:
            skipped = await run_nudges(maker, services.lifecycle, now=clock.now)
        finally:
            await other.execute(select(func.pg_advisory_unlock(NUDGE_LOCK)))
    assert skipped.ran is False and await messages(session) == 0
    assert (await run_nudges(maker, services.lifecycle, now=clock.now)).sent == 1
    row = (
        await session.execute(
            select(outbox.c.channel, outbox.c.lang, outbox.c.body_text).where(
                outbox.c.template == "suggestion_offer"
            )
        )
    ).one()
    assert row.channel == "sms" and row.lang == "en"
    assert "/forslag/" in row.body_text and len(row.body_text) <= 160
    offered = await session.scalar(select(interest.c.suggestion_offer))
    assert offered == [
        {"kind": "add_slot", "value": "mon-evening"},
        {"kind": "welcome_digital", "value": None},
    ]


async def test_racing_claims_send_one(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
) -> None:
    """Two runs that got past the lock (a replica whose lock ended) still claim once."""
    await make_org(session, ("4601",))
    iid = await person(session, cipher, clock.now, contact={"email": "r@example.no"},
                       suggestions=DIGITAL_NOW)  # fmt: skip
    change = [nudges.Change("welcome_digital")]
    first = await nudges.claim_messages(session, {iid: change}, now=clock.now, secret=SECRET)
    second = await nudges.claim_messages(session, {iid: change}, now=clock.now, secret=SECRET)
    assert set(first) == {iid} and second == {}


async def test_people_with_nothing_to_offer_do_not_starve_the_others(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    services: Services,
) -> None:
    """Runs look at a batch at a time: the batch holds only people with a change to offer."""
    maker = maker_of(conn)
    await make_org(session, ("4601",))
    soon = [{"kind": "add_slot", "value": "mon-evening", "soon": True}]
    for i in range(3):  # they signed up first, so they come first by waiting time
        await person(session, cipher, clock.now - timedelta(days=10 - i),
                     contact={"email": f"s{i}@example.no"}, suggestions=soon)  # fmt: skip
    await person(session, cipher, clock.now, contact={"email": "n@example.no"},
                 suggestions=DIGITAL_NOW)  # fmt: skip
    await session.commit()
    report = await run_nudges(maker, services.lifecycle, now=clock.now, batch_size=1)
    assert report.sent == 1 and await messages(session) == 1


async def test_a_run_goes_on_batch_after_batch(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    services: Services,
) -> None:
    maker = maker_of(conn)
    await make_org(session, ("4601",))
    for i in range(5):
        await person(session, cipher, clock.now, contact={"email": f"b{i}@example.no"},
                     suggestions=DIGITAL_NOW)  # fmt: skip
    await session.commit()
    capped = await run_nudges(maker, services.lifecycle, now=clock.now, batch_size=2,
                              max_batches=2)  # fmt: skip
    assert capped.sent == 4 and await messages(session) == 4
    rest = await run_nudges(maker, services.lifecycle, now=clock.now, batch_size=2)
    assert rest.sent == 1 and await messages(session) == 5


async def test_claiming_many_at_once_claims_each_due_person_once(
    session: AsyncSession, cipher: ContactCipher, clock: Any
) -> None:
    await make_org(session, ("4601",))
    a = await person(session, cipher, clock.now, contact={"email": "m1@example.no"})
    b = await person(session, cipher, clock.now, contact={"email": "m2@example.no"})
    c = await person(session, cipher, clock.now, contact={"email": "m3@example.no"},
                     opted_in=False)  # fmt: skip
    change = [nudges.Change("welcome_digital")]
    first = await nudges.claim_messages(
        session, {a: change, c: change}, now=clock.now, secret=SECRET
    )
    assert set(first) == {a}  # c did not opt in
    second = await nudges.claim_messages(
        session, {a: change, b: change}, now=clock.now, secret=SECRET
    )
    assert set(second) == {b}  # a already had one this month
    rows = dict(
        (await session.execute(select(interest.c.id, interest.c.suggestion_link_hash))).all()
    )
    nonce = nudges.NONCE_CHARS
    assert rows[a] == nudges.token_hash(first[a][:nonce])
    assert rows[b] == nudges.token_hash(second[b][:nonce])
    assert rows[c] is None


async def test_a_link_works_only_as_signed(
    session: AsyncSession, cipher: ContactCipher, clock: Any
) -> None:
    """The token is signed with the link secret over the person, the expiry and the nonce:
    an altered signature, another secret, or a changed send time on the row make it unknown;
    the untouched link works until its expiry and is then told apart as expired."""
    await make_org(session, ("4601",))
    iid = await person(session, cipher, clock.now, contact={"email": "sig@example.no"})
    claimed = await nudges.claim_messages(
        session, {iid: [nudges.Change("welcome_digital")]}, now=clock.now, secret=SECRET
    )
    token = claimed[iid]
    assert len(token) == nudges.TOKEN_CHARS

    async def resolve(t: str, secret: str = SECRET, after: timedelta = timedelta()) -> Any:
        return await nudges.resolve(session, t, now=clock.now + after, secret=secret)

    offer = await resolve(token)
    assert isinstance(offer, nudges.Offer) and offer.interest_id == iid
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert await resolve(flipped) is nudges.LinkProblem.UNKNOWN
    assert await resolve(token, secret="another-secret-" + "y" * 30) is nudges.LinkProblem.UNKNOWN
    assert await resolve(token, after=nudges.LINK_VALID) is nudges.LinkProblem.EXPIRED
    # Someone with write access who moves the send time to stretch the link breaks it.
    await session.execute(
        interest.update()
        .where(interest.c.id == iid)
        .values(suggestion_sent_at=clock.now + timedelta(days=7))
    )
    assert await resolve(token) is nudges.LinkProblem.UNKNOWN
