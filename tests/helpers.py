"""Builders shared by tests: organisations, facilitators, keys, interest bodies and sign-ups."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake.crypto import ContactCipher
from intake.interests import register
from intake.receipt import code_hash
from intake.registry import Organisation, add_facilitator, add_organisation, create_api_key
from intake.schemas import InterestIn
from intake.tables import interest, organisation
from matching.tables import group_event, group_member, match_run, start_group, waiting_note

#: The contact key of the tests' services (``cipher`` fixture).
TEST_KEY = bytes(range(32))


@dataclass
class FakeClock:
    """An injectable clock: tests move time instead of sleeping. Here, not in conftest.py:
    ``from conftest import …`` finds whichever conftest module was imported first."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def make_org(
    session: AsyncSession,
    municipalities: tuple[str, ...] = ("4601",),
    *,
    kind: str = "link",
    name: str | None = None,
) -> Organisation:
    slug = unique("org")
    return await add_organisation(
        session,
        slug=slug,
        name=name or f"Org {slug}",
        kind=kind,
        municipalities=municipalities,
        region_slug=None if municipalities else "vestland",
        coordinator_email=f"koordinator@{slug}.example.no",
    )


async def make_org_with_facilitator(
    session: AsyncSession,
    municipalities: tuple[str, ...] = ("4601",),
    *,
    name: str = "F",
    email: str | None = "f@example.no",
    themes: Sequence[str] = ("sorg",),
    **facilitator: Any,
) -> tuple[Organisation, uuid.UUID]:
    """An organisation with one facilitator (by default for grief groups in Norwegian)."""
    org = await make_org(session, municipalities)
    fid = await add_facilitator(
        session, organisation_id=org.id, name=name, email=email, themes=themes, **facilitator
    )
    return org, fid


async def make_key(session: AsyncSession, org: Organisation, role: str) -> dict[str, str]:
    key = await create_api_key(session, organisation_id=org.id, role=role)
    return {"Authorization": f"Bearer {key}"}


def interest_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "municipality": "4601",
        "themes": ["sorg"],
        "cross_problem_welcome": False,
        "age_band": "33-37",
        "gender": "female",
        "languages": ["no"],
        "availability": ["tue-evening", "thu-evening"],
        "digital_welcome": False,
        "consent": {"given": True, "text_version": "2026-11-v1"},
    }
    body.update(overrides)
    return body


def run_cli(
    database_url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``samhjelp …`` in a subprocess against the test database (``env``: more settings)."""
    env = os.environ | {"DATABASE_URL": database_url, "SAMHJELP_LOG_LEVEL": "WARNING"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "samhjelp.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def register_people(
    session: AsyncSession,
    cipher: ContactCipher,
    now: datetime,
    n: int,
    *,
    prefix: str | None = None,
    days_ago: int = 10,
    step: timedelta = timedelta(minutes=1),
    **overrides: Any,
) -> list[tuple[uuid.UUID, str]]:
    """``n`` people waiting since ``days_ago`` days, each ``step`` after the one before (oldest
    first): (interest id, receipt code). With ``prefix``, person i has e-mail <prefix><i>@…"""
    out = []
    for i in range(n):
        contact = {} if prefix is None else {"contact": {"email": f"{prefix}{i}@example.no"}}
        done = await register(
            session,
            InterestIn.model_validate(interest_body(**overrides, **contact)),
            cipher=cipher,
            source="self",
            now=now - timedelta(days=days_ago) + i * step,
        )
        iid = await session.scalar(
            select(interest.c.id).where(interest.c.receipt_hash == code_hash(done.receipt_code))
        )
        assert iid is not None
        out.append((iid, done.receipt_code))
    return out


async def purge_organisation(maker: async_sessionmaker[AsyncSession], org_id: uuid.UUID) -> None:
    """Remove what a committing test made for one organisation (its groups, people, runs)."""
    async with maker.begin() as s:
        gids = select(start_group.c.id).where(start_group.c.organisation_id == org_id)
        await s.execute(delete(group_event).where(group_event.c.group_id.in_(gids)))
        await s.execute(delete(group_member).where(group_member.c.group_id.in_(gids)))
        await s.execute(delete(start_group).where(start_group.c.organisation_id == org_id))
        await s.execute(delete(match_run))
        await s.execute(delete(waiting_note))
        await s.execute(delete(interest).where(interest.c.organisation_id == org_id))
        await s.execute(delete(organisation).where(organisation.c.id == org_id))
