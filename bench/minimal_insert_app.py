"""The reference point of bench/intake_load.py: a minimal Litestar endpoint that does nothing
but insert the interest row through asyncpg (no validation, encryption, idempotency, metrics).

    BENCH_DATABASE_URL=postgresql://… uvicorn --factory minimal_insert_app:create --app-dir bench
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from litestar import Litestar, post

SQL = (
    "INSERT INTO interest (id, receipt_hash, municipality_number, organisation_id,"
    " region_slug, themes, cross_problem_welcome, age_band, gender, same_gender, languages,"
    " slots, digital_welcome, contact_kind, contact_encrypted, contact_masked,"
    " consent_version, consented_at, source, status, waiting_since)"
    " VALUES ($1,$2,'4601',$3,'vestland',$4,true,33,'female',false,$5,$6,false,'email',$7,"
    " 'k***@e***.no','2026-11-v1',$8,'self','waiting',$8)"
)


def create() -> Litestar:
    state: dict[str, Any] = {}

    async def start() -> None:
        state["pool"] = await asyncpg.create_pool(os.environ["BENCH_DATABASE_URL"], max_size=16)
        state["org"] = await state["pool"].fetchval(
            "SELECT id FROM organisation WHERE slug = 'link-bergen'"
        )

    @post("/api/v1/interests")
    async def insert(data: dict[str, Any]) -> dict[str, str]:
        now = datetime.now(UTC)
        code = secrets.token_hex(5)
        await state["pool"].execute(
            SQL, uuid.uuid4(), hashlib.sha256(code.encode()).digest(), state["org"],
            ["sorg"], ["no"], ["tue-evening"], secrets.token_bytes(60), now,
        )  # fmt: skip
        return {"receipt_code": code}

    return Litestar([insert], on_startup=[start])
