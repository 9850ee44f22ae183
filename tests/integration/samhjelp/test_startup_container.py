"""The container's install path, without a container engine (none runs on the development
machine or in CI, and no registry is reachable to pull a base image).

The Containerfile does ``pip install .`` (non-editable) and points ``SAMHJELP_MIGRATIONS`` at a
copy of ``db/``; the same install here must migrate, seed and serve pages from outside the
checkout. The build context and the image's promises (pinned base, health check, non-root) are
checked in the files themselves.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from integration.samhjelp.support import serving, wait_ready

ROOT = Path(__file__).resolve().parents[3]


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".containerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for name in (".venv", ".samhjelp", "node_modules", ".git"):
        assert name in ignored, f"{name} would be sent to the image build"
    for needed in ("src", "db", "pyproject.toml", "README.md"):
        assert needed not in ignored


def test_the_containerfile_pins_its_base_and_keeps_a_health_check() -> None:
    text = (ROOT / "Containerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert base is not None
    # A patch release, not a moving tag like python:3.11-slim.
    assert re.search(r":3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?$", base.group(1))
    assert text.count("FROM ${PYTHON_IMAGE}") == 2
    assert "HEALTHCHECK" in text and "/health/ready" in text
    assert "USER samhjelp" in text
    assert "--format docker" in text  # podman's OCI format would drop the HEALTHCHECK


def test_the_compose_example_runs_postgres_and_two_replicas() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert services["db"]["image"].endswith("postgres:17")
    replicas = [s for name, s in services.items() if name.startswith("samhjelp")]
    assert len(replicas) == 2
    for replica in replicas:
        env = replica["environment"]
        assert env["SAMHJELP_ENVIRONMENT"] == "production"
        for secret in ("SAMHJELP_CONTACT_KEY", "SAMHJELP_LINK_SECRET", "SAMHJELP_SMTP_HOST"):
            assert env[secret].startswith("${") and ":?" in env[secret], secret
        assert replica["depends_on"]["db"]["condition"] == "service_healthy"


def test_a_non_editable_install_migrates_seeds_and_serves(
    empty_database: str, tmp_path: Path
) -> None:
    # As the Containerfile: copy only what the build context sends, then `pip install .`.
    context = tmp_path / "context"
    context.mkdir()
    shutil.copy(ROOT / "pyproject.toml", context)
    shutil.copy(ROOT / "README.md", context)
    shutil.copytree(ROOT / "src", context / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    shutil.copytree(ROOT / "db", tmp_path / "app-db")
    target = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), "."],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMHJELP_")} | {
        "PYTHONPATH": str(target),  # the installed copy, not the checkout
        "SAMHJELP_MIGRATIONS": str(tmp_path / "app-db"),
        "SAMHJELP_DATA_DIR": str(home / "data"),
        "SAMHJELP_SCHEDULER_ENABLED": "false",
        "SAMHJELP_CONTACT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "SAMHJELP_LINK_SECRET": secrets.token_urlsafe(48),
        "DATABASE_URL": empty_database,
        "SAMHJELP_LOG_LEVEL": "WARNING",
    }
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import samhjelp, intake; print(samhjelp.__file__, intake.__file__)",
        ],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(p.startswith(str(target)) for p in where.stdout.split()), where.stdout

    with serving(env, [tmp_path / "serve.log"], cwd=home) as (server,):
        assert wait_ready([server]) == {0}, server.tail()
        # Templates, catalogues and static files come from the installed package.
        page = httpx.get(server.url("/meld-interesse"), timeout=10)
        assert page.status_code == 200 and "<form" in page.text
        css = re.search(r'href="(/static/[^"]+\.css)"', page.text)
        assert css is not None
        assert httpx.get(server.url(css.group(1)), timeout=10).status_code == 200
    seeded = subprocess.run(
        [sys.executable, "-m", "samhjelp.cli", "db", "seed"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert seeded.returncode == 0 and '"municipalities": 357' in seeded.stdout, seeded.stderr
