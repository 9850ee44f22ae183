"""A group proposed at its smallest size meets no earlier than five weeks after it was
proposed (issue 13): the facilitator's form offers dates from then, says why, and refuses an
earlier date; a larger group, or an organisation that set the rule to 0, meets as soon as the
facilitator can. Until the first meeting the group takes newcomers (``matching.fill``), so the
wait is what lets it grow (docs/matching.md, "A later first meeting for groups of four")."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx
from babel.dates import format_date
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups import Lifecycle, tick
from groups.brief import OSLO, next_slot_starts, on_slot
from groups.tables import group_meeting
from helpers import make_org_with_facilitator
from intake.crypto import ContactCipher
from intake.tables import organisation
from integration.groups.support import (
    CSRF,
    click,
    deliver,
    parse,
    pending_start_notice,
    propose_group,
    sign_up,
)
from matching.job import run_matching
from matching.tables import group_member, start_group
from notify.smtp import SmtpNotifier
from notify.testing import RecordingSmtpServer

Maker = async_sessionmaker[AsyncSession]
RADIO = re.compile(r'name="when" value="(\d{4}-\d\d-\d\dT\d\d:\d\d)"')
FORM = re.compile(r'form method="post" action="http://testserver(/s/[A-Za-z0-9_-]{28})"')


async def _accepted(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    client: httpx.AsyncClient, people: int, *, org_rules: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], httpx.Response]:  # fmt: skip
    """``people`` who have waited 30 days (so a group of four may form), a group proposed,
    the start notice accepted; the group row and the confirmation page with the form."""
    _, fac = await make_org_with_facilitator(session)
    if org_rules is not None:
        await session.execute(update(organisation).values(rules=org_rules))
    await sign_up(session, cipher, clock.now, people, days_ago=30)
    await session.commit()
    assert (await run_matching(maker, now=clock.now)).groups == 1
    group = dict((await session.execute(select(start_group))).mappings().one())
    size = (await session.execute(select(group_member.c.interest_id))).scalars().all()
    assert len(size) == people
    accept = await pending_start_notice(session, lc, group["id"], fac, clock.now)
    await session.commit()
    page = await client.get(accept)
    found = CSRF.search(page.text)
    assert page.status_code == 200 and found is not None
    done = await client.post(accept, data={"_csrf_token": found.group(1)})
    assert done.status_code == 200, done.text
    return group, done


def _starts(page: str) -> list[datetime]:
    return [datetime.fromisoformat(v).replace(tzinfo=OSLO) for v in RADIO.findall(page)]


async def test_a_group_of_four_meets_five_weeks_after_it_was_proposed_at_the_earliest(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:  # fmt: skip
    group, done = await _accepted(maker, session, cipher, clock, lc, app_client, 4)
    earliest_day = (group["created_at"] + timedelta(days=35)).astimezone(OSLO).date()
    starts = _starts(done.text)
    assert len(starts) == 4 and all(on_slot(group["slot"], s) for s in starts)
    assert starts[0].date() >= earliest_day
    assert starts[0].date() - earliest_day < timedelta(days=7), "the first slot date after it"
    # The form says why the dates are weeks away, in the page's language (bokmål).
    note = re.search(r'<p class="ds-paragraph" id="fill-note">([^<]*)</p>', done.text)
    assert note is not None and earliest_day.strftime("%d.%m.%Y") in note.group(1)
    assert "flere kan bli med" in note.group(1)
    # An earlier date on the slot is refused next to the field, and nothing is planned.
    soon = next_slot_starts(group["slot"], now=clock.now)[0]
    assert soon.date() < earliest_day
    form_url = FORM.search(done.text)
    csrf = CSRF.search(done.text)
    assert form_url is not None and csrf is not None
    value = soon.strftime("%Y-%m-%dT%H:%M")
    refused = await app_client.post(form_url.group(1), data={
        "_csrf_token": csrf.group(1), "when": value, "place": "LINK, rom 2"})  # fmt: skip
    assert refused.status_code == 400
    assert 'id="when-error"' in refused.text and earliest_day.strftime("%d.%m.%Y") in refused.text
    assert (await session.execute(select(group_meeting.c.id))).first() is None
    # So is another time before the earliest day, even when confirmed as off the slot.
    other = await app_client.post(form_url.group(1), data={
        "_csrf_token": csrf.group(1), "when": "other", "date": soon.strftime("%Y-%m-%d"),
        "time": "12:00", "confirm_other_time": "yes", "place": "LINK"})  # fmt: skip
    assert other.status_code == 400 and 'id="date-error"' in other.text
    # An offered date is taken: the group meets then.
    ok = await app_client.post(form_url.group(1), data={
        "_csrf_token": csrf.group(1), "when": starts[0].strftime("%Y-%m-%dT%H:%M"),
        "place": "LINK, rom 2"})  # fmt: skip
    assert ok.status_code == 200, ok.text
    first = (
        await session.execute(select(group_meeting.c.starts_at).where(group_meeting.c.number == 1))
    ).scalar_one()
    assert first == starts[0]


async def test_a_group_of_five_meets_as_soon_as_the_facilitator_can(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:  # fmt: skip
    group, done = await _accepted(maker, session, cipher, clock, lc, app_client, 5)
    assert _starts(done.text)[0] == next_slot_starts(group["slot"], now=clock.now)[0]
    assert 'id="fill-note"' not in done.text


async def test_an_organisation_can_set_the_wait_to_zero(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:  # fmt: skip
    rules = {"small_group_meets_after_days": 0}
    group, done = await _accepted(maker, session, cipher, clock, lc, app_client, 4, org_rules=rules)
    assert _starts(done.text)[0] == next_slot_starts(group["slot"], now=clock.now)[0]
    assert 'id="fill-note"' not in done.text


async def test_a_group_of_four_fills_while_it_waits_over_smtp(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    app_client: httpx.AsyncClient, smtp_server: RecordingSmtpServer,
) -> None:  # fmt: skip
    """The walk by e-mail: the start notice, "yes" by its link, the first date five weeks on,
    four invitations with that date; a fifth person who signs up two weeks later joins the
    group and gets the same meeting in their invitation."""
    smtp = SmtpNotifier("127.0.0.1", smtp_server.port, "noreply@example.no", tls="none", timeout=5)
    await make_org_with_facilitator(session, name="Fasilitator", email="igangsetter@example.no")
    await sign_up(session, cipher, clock.now, 4, days_ago=40)
    await propose_group(maker, session, clock, lc)
    proposed = (await session.execute(select(start_group.c.created_at))).scalar_one()
    assert (await deliver(maker, smtp, cipher, clock.now))["sent"] == 1
    [notice] = [parse(raw) for raw in smtp_server.messages]
    assert notice.to == "igangsetter@example.no"
    accept, _decline = notice.links()

    page = await click(app_client, accept)
    assert page.status_code == 200 and 'id="fill-note"' in page.text
    first = _starts(page.text)[0]
    assert first.date() >= (proposed + timedelta(days=35)).astimezone(OSLO).date()
    form_url = FORM.search(page.text)
    assert form_url is not None
    done = await click(app_client, form_url.group(1), when=first.strftime("%Y-%m-%dT%H:%M"),
                       place="LINK, rom 2")  # fmt: skip
    assert done.status_code == 200
    assert (await deliver(maker, smtp, cipher, clock.now))["sent"] == 4
    day = format_date(first.date(), "EEEE d. MMMM", locale="nb")  # "torsdag 31. desember"
    invitations = [parse(raw) for raw in smtp_server.messages[1:]]
    assert {m.to for m in invitations} == {f"p{i}@example.no" for i in range(4)}
    stamp = first.strftime("%Y%m%dT%H%M%S")
    for mail in invitations:
        assert day in mail.text and "LINK, rom 2" in mail.text
        assert stamp in mail.calendars[0]

        yes, _no = mail.links()[:2]
        assert (await click(app_client, yes)).status_code == 200  # they say yes

    # Two weeks later a fifth person who fits signs up: they join, and are invited to it.
    clock.advance(days=14)
    [late] = await sign_up(session, cipher, clock.now, 1, prefix="late", days_ago=0)
    await session.commit()
    assert (await run_matching(maker, now=clock.now)).joined == 1
    await tick(maker, lc, now=clock.now)
    before = len(smtp_server.messages)
    assert (await deliver(maker, smtp, cipher, clock.now))["sent"] == 1, [
        (m.to, m.subject) for m in map(parse, smtp_server.messages[before:])
    ]
    joiner = parse(smtp_server.messages[-1])
    assert joiner.to == "late0@example.no"
    assert day in joiner.text and stamp in joiner.calendars[0]
    members = (await session.execute(select(group_member.c.interest_id))).scalars().all()
    assert late in members and len(members) == 5
