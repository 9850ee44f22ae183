"""Replicas started together on an empty database all become ready.

Without a lock each `samhjelp serve` runs the migrations at once; all but one crash on the
primary key of ``alembic_version`` (or on a table another replica just created).
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from integration.samhjelp.support import serving, wait_ready

REPLICAS = 3


def test_three_replicas_started_at_once_on_an_empty_database_all_become_ready(
    empty_database: str, tmp_path: Path
) -> None:
    env = os.environ | {
        "DATABASE_URL": empty_database,
        "SAMHJELP_SCHEDULER_ENABLED": "false",
        "SAMHJELP_CONTACT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "SAMHJELP_LINK_SECRET": secrets.token_urlsafe(48),
        "SAMHJELP_DATA_DIR": str(tmp_path),
        "SAMHJELP_LOG_LEVEL": "WARNING",
    }
    with serving(env, [tmp_path / f"replica-{i}.log" for i in range(REPLICAS)]) as servers:
        ready = wait_ready(servers)
    assert ready == set(range(REPLICAS)), "\n".join(
        f"replica {i}: " + served.tail(2000) for i, served in enumerate(servers) if i not in ready
    )
