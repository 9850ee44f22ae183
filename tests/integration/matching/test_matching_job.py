"""The matching job against PostgreSQL: proposals, statuses, locks and the one-group rule."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from groups import Lifecycle
from groups.progress import GroupProgress
from groups.service import lapse_group
from helpers import (
    make_key,
    make_org,
    make_org_with_facilitator,
    purge_organisation,
    register_people,
    run_cli,
)
from intake.crypto import ContactCipher
from intake.progress import withdraw_by_code
from intake.tables import interest
from matching.job import run_matching
from matching.notes import note_for
from matching.tables import group_event, group_member, match_run, start_group, waiting_note

DAY = timedelta(days=1)  # between sign-ups: who waited longest is clear


def _maker(conn: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


async def test_job_forms_a_group_and_does_not_rematch(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any, client: Any
) -> None:
    org, _ = await make_org_with_facilitator(session)
    people = await register_people(session, cipher, clock.now, 6, step=DAY)
    lonely = await register_people(session, cipher, clock.now, 1, step=DAY, themes=["kreft"])
    await session.commit()

    report = await run_matching(_maker(conn), now=clock.now)
    assert report.ran and report.groups == 1 and report.placed == 6
    group = (await session.execute(select(start_group))).one()
    assert (
        group.theme == "sorg"
        and group.status == "proposed"
        and group.slot in ("tue-evening", "thu-evening")
    )
    assert group.rules["min_size"] == 4
    members = set((await session.execute(select(group_member.c.interest_id))).scalars())
    assert members == {p[0] for p in people}
    statuses = dict((await session.execute(select(interest.c.id, interest.c.status))).all())
    assert all(statuses[p[0]] == "proposed" for p in people)
    assert statuses[lonely[0][0]] == "waiting"
    assert (await session.execute(select(group_event.c.what))).scalars().all() == ["formed"]
    note = await note_for(session, lonely[0][0])
    assert note is not None and note["reason"]["theme"] == "kreft"
    status = (await client.get(f"/api/v1/interests/{lonely[0][1]}")).json()
    assert "kreft" in status["explanation"].lower() and "4" in status["explanation"]
    english = (await client.get(f"/api/v1/interests/{lonely[0][1]}?lang=en")).json()
    assert "cancer" in english["explanation"].lower()
    staff = await make_key(session, org, "staff")
    listed = (await client.get("/api/v1/staff/interests?lang=en", headers=staff)).json()
    assert len(listed) == 1 and "cancer" in listed[0]["explanation"].lower()
    proposed = (await client.get("/api/v1/staff/interests?status=proposed", headers=staff)).json()
    assert len(proposed) == 6 and all(p["explanation"] is None for p in proposed)
    placed = (await client.get(f"/api/v1/interests/{people[0][1]}")).json()
    assert placed["status"] == "proposed" and placed["explanation"] is None
    assert "id" not in placed

    again = await run_matching(_maker(conn), now=clock.now)
    assert again.ran and again.groups == 0
    assert await session.scalar(select(func.count()).select_from(start_group)) == 1


async def test_withdrawn_people_are_not_matched_and_dry_run_stores_nothing(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any
) -> None:
    await make_org_with_facilitator(session, email=None)
    people = await register_people(session, cipher, clock.now, 5, step=DAY)
    # Withdrawal erases the registration at once (issue 8), through the life cycle.
    lc = Lifecycle(cipher=cipher, link_secret="test-link-secret-" + "x" * 32, base_url="http://t")
    await withdraw_by_code(session, GroupProgress(lc), people[0][1], now=clock.now)
    await session.commit()
    dry = await run_matching(_maker(conn), now=clock.now, dry_run=True)
    assert dry.ran and dry.candidates == 4
    assert await session.scalar(select(func.count()).select_from(match_run)) == 0
    assert await session.scalar(select(func.count()).select_from(waiting_note)) == 0
    # Four remain: a group of four is only proposed after min_size_after_days (28) of waiting.
    assert dry.groups == 0
    later = await run_matching(_maker(conn), now=clock.now + timedelta(days=30))
    assert later.groups == 1 and later.placed == 4
    ids = set((await session.execute(select(group_member.c.interest_id))).scalars())
    assert people[0][0] not in ids


async def test_a_person_is_never_in_two_open_groups_by_constraint(
    session: AsyncSession, cipher: ContactCipher, clock: Any
) -> None:
    org = await make_org(session, ("4601",))
    [(iid, _)] = await register_people(session, cipher, clock.now, 1, step=DAY)
    gids = [uuid.uuid4(), uuid.uuid4()]
    for gid in gids:
        await session.execute(
            start_group.insert().values(
                id=gid,
                organisation_id=org.id,
                theme="sorg",
                language="no",
                slot="tue-evening",
                digital=False,
                rules={},
            )
        )
    await session.execute(group_member.insert().values(group_id=gids[0], interest_id=iid))
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await session.execute(group_member.insert().values(group_id=gids[1], interest_id=iid))
    # After leaving the first group (inactive), the person may join another.
    await session.execute(group_member.update().values(active=False))
    await session.execute(group_member.insert().values(group_id=gids[1], interest_id=iid))


async def test_lapsed_group_returns_members_with_original_waiting_time(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any
) -> None:
    await make_org_with_facilitator(session, email=None)
    await register_people(session, cipher, clock.now, 6, step=DAY)
    await session.commit()
    before = dict((await session.execute(select(interest.c.id, interest.c.waiting_since))).all())
    await run_matching(_maker(conn), now=clock.now)
    gid = (await session.execute(select(start_group.c.id))).scalar_one()
    returned = await lapse_group(
        session, gid, now=clock.now + timedelta(days=3), actor="test", why="facilitator declined"
    )
    assert set(returned) == set(before)
    rows = (
        await session.execute(select(interest.c.id, interest.c.status, interest.c.waiting_since))
    ).all()
    assert all(r.status == "waiting" and r.waiting_since == before[r.id] for r in rows)
    assert (await session.execute(select(start_group.c.status))).scalar_one() == "lapsed"
    # They can be matched again (the facilitator's start is free again too).
    again = await run_matching(_maker(conn), now=clock.now + timedelta(days=3))
    assert again.groups == 1


async def test_two_runs_at_once_produce_one_set_of_proposals(
    engine: AsyncEngine, cipher: ContactCipher, clock: Any
) -> None:
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker.begin() as s:
        org, _ = await make_org_with_facilitator(
            s, ("5001",), email=None, themes=["angst"], max_concurrent_starts=3
        )
        await register_people(
            s, cipher, clock.now, 8, step=DAY, municipality="5001", themes=["angst"]
        )
    try:
        reports = await asyncio.gather(*(run_matching(maker, now=clock.now) for _ in range(4)))
        assert sum(r.groups for r in reports) == 1
        async with maker() as s:
            groups = await s.scalar(
                select(func.count())
                .select_from(start_group)
                .where(start_group.c.organisation_id == org.id)
            )
            assert groups == 1
            per_person = (
                await s.execute(
                    select(group_member.c.interest_id, func.count()).group_by(
                        group_member.c.interest_id
                    )
                )
            ).all()
            assert len(per_person) == 8 and all(c == 1 for _, c in per_person)
    finally:
        await purge_organisation(maker, org.id)


async def test_cli_runs_matching_and_lists_inspects_and_closes_groups(
    engine: AsyncEngine, database_url: str, cipher: ContactCipher, clock: Any
) -> None:
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker.begin() as s:
        org, _ = await make_org_with_facilitator(s, ("3405",), email=None, themes=["stress"])
        await register_people(
            s, cipher, clock.now, 6, step=DAY, municipality="3405", themes=["stress"]
        )
    try:
        dry = await asyncio.to_thread(run_cli, database_url, "match", "run", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "would form 1 groups placing 6" in dry.stdout
        real = await asyncio.to_thread(run_cli, database_url, "match", "run")
        assert "formed 1 groups placing 6; 0 joined groups that have not met yet" in real.stdout
        listed = await asyncio.to_thread(run_cli, database_url, "group", "list", "--org", org.slug)
        [line] = listed.stdout.splitlines()
        gid, status, theme = line.split("\t")[:3]
        assert (status, theme) == ("proposed", "stress") and "6 members" in line
        events = await asyncio.to_thread(run_cli, database_url, "group", "events", gid)
        assert "\tmatching\tformed\t" in events.stdout
        # Someone who signs up later joins the group before it meets; a dry run names the
        # group and its size (no person), and stores nothing.
        async with maker.begin() as s:
            await register_people(s, cipher, clock.now, 1, municipality="3405", themes=["stress"])
        joins = await asyncio.to_thread(run_cli, database_url, "match", "run", "--dry-run")
        assert "would form 0 groups placing 0; 1 would join" in joins.stdout, joins.stdout
        assert f"  would join: group {gid[:8]} (stress, no, " in joins.stdout
        assert ": 6 → 7 people" in joins.stdout
        again_listed = await asyncio.to_thread(
            run_cli, database_url, "group", "list", "--org", org.slug
        )
        assert "6 members" in again_listed.stdout
        early = await asyncio.to_thread(
            run_cli, database_url, "group", "reschedule", gid, "--meeting", "1",
            "--at", "2030-01-01T18:00",
        )  # fmt: skip
        assert early.returncode != 0 and "no planned meeting" in early.stderr
        garbled = await asyncio.to_thread(
            run_cli, database_url, "group", "reschedule", gid, "--meeting", "1", "--at", "soon"
        )
        assert garbled.returncode != 0 and "--at takes a date" in garbled.stderr
        closed = await asyncio.to_thread(
            run_cli, database_url, "group", "close", gid, "--reason", "facilitator ill"
        )
        assert closed.returncode == 0 and closed.stdout.strip() == "closed"
        again = await asyncio.to_thread(
            run_cli, database_url, "group", "close", gid, "--reason", "twice"
        )
        assert again.returncode != 0 and "no open group" in again.stderr
        after = await asyncio.to_thread(
            run_cli, database_url, "group", "list", "--org", org.slug, "--status", "closed"
        )
        assert after.stdout.startswith(gid)
        async with maker() as s:
            back = (
                (
                    await s.execute(
                        select(interest.c.status).where(interest.c.organisation_id == org.id)
                    )
                )
                .scalars()
                .all()
            )
        assert back == ["waiting"] * 7  # closed before it met: back in the pool, with the 7th
    finally:
        await purge_organisation(maker, org.id)


async def test_staff_see_their_groups_and_events_only(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any, client: Any
) -> None:
    org, _ = await make_org_with_facilitator(session, email=None)
    other = await make_org(session, ("0301",))
    await register_people(session, cipher, clock.now, 6, step=DAY)
    await session.commit()
    await run_matching(_maker(conn), now=clock.now)
    mine, theirs = await make_key(session, org, "staff"), await make_key(session, other, "staff")
    groups = (await client.get("/api/v1/staff/groups", headers=mine)).json()
    assert [(g["status"], g["theme"], g["members"]) for g in groups] == [("proposed", "sorg", 6)]
    assert (await client.get("/api/v1/staff/groups", headers=theirs)).json() == []
    events = await client.get(f"/api/v1/staff/groups/{groups[0]['id']}/events", headers=mine)
    assert [e["what"] for e in events.json()] == ["formed"]
    assert events.json()[0]["detail"]["members"] == 6
    hidden = await client.get(f"/api/v1/staff/groups/{groups[0]['id']}/events", headers=theirs)
    assert hidden.status_code == 404
    closed = await client.get("/api/v1/staff/groups?status=closed", headers=mine)
    assert closed.json() == []
    assert (await client.get("/api/v1/staff/groups")).status_code == 401
    gid = groups[0]["id"]
    url = f"/api/v1/staff/groups/{gid}/close"
    assert (await client.post(url, json={"reason": "x"}, headers=mine)).status_code == 422
    assert (await client.post(url, json={"reason": "lokalet"}, headers=theirs)).status_code == 404
    done = await client.post(url, json={"reason": "lokalet er stengt"}, headers=mine)
    assert done.status_code == 200 and done.json() == {"status": "closed"}
    assert (await client.post(url, json={"reason": "igjen"}, headers=mine)).status_code == 409
    statuses = (await session.execute(select(interest.c.status))).scalars().all()
    assert statuses == ["waiting"] * 6  # closed before it met: back in the pool
    log = (await client.get(f"/api/v1/staff/groups/{gid}/events", headers=mine)).json()
    assert [e["what"] for e in log] == ["formed", "closed"]
    assert log[-1]["actor"].startswith("staff:")
