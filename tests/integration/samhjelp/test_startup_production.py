"""`samhjelp serve` in production refuses to start without a mail server, unless the operator
chose the folder channel by name."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path


def _serve(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMHJELP_")} | {
        "SAMHJELP_ENVIRONMENT": "production",
        # Nothing listens here: a refused start must not get as far as the database.
        "DATABASE_URL": "postgresql://samhjelp@127.0.0.1:9/samhjelp",
        "SAMHJELP_CONTACT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "SAMHJELP_LINK_SECRET": secrets.token_urlsafe(48),
        "SAMHJELP_CONTROLLER_NAME": "Samhjelp test",
        "SAMHJELP_CONTROLLER_CONTACT": "personvern@example.no",
        "SAMHJELP_DATA_DIR": str(tmp_path),
        "SAMHJELP_DB_CONNECT_TIMEOUT_SECONDS": "1",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "samhjelp.cli", "serve", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_without_smtp_refuses_to_start_with_the_reason(tmp_path: Path) -> None:
    done = _serve(tmp_path)
    assert done.returncode != 0
    assert "invalid settings" in done.stderr
    assert "SAMHJELP_SMTP_HOST" in done.stderr and "SAMHJELP_MAIL_CHANNEL=folder" in done.stderr


def test_production_with_the_folder_channel_chosen_gets_past_the_mail_check(
    tmp_path: Path,
) -> None:
    done = _serve(tmp_path, SAMHJELP_MAIL_CHANNEL="folder")
    assert done.returncode != 0  # the database at port 9 is not there
    assert "SAMHJELP_SMTP_HOST" not in done.stderr and "invalid settings" not in done.stderr
