"""Builders shared by tests: organisations, keys and valid interest bodies."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from intake.registry import Organisation, add_organisation, create_api_key


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
