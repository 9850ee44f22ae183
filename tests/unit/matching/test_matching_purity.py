"""The matching core stays pure: no database, web, validation or I/O libraries, no clock or
randomness. Checked by reading every core module's syntax tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from unit.purity import imports_and_calls

CORE = Path(__file__).resolve().parents[3] / "src" / "matching"
# The imperative shell of the package. The issue names job/tables/service; links, pages, api
# and the lifecycle/ subpackage (not globbed) were added to the shell by the web and life-cycle
# work. Core modules must not import any of them either (see SHELL_IMPORTS).
SHELL = {
    "job.py",
    "tables.py",
    "service.py",
    "notes.py",
    "suggestions.py",
    "links.py",
    "pages.py",
    "api.py",
}
SHELL_IMPORTS = {f"matching.{n.removesuffix('.py')}" for n in SHELL} | {"groups"}
FORBIDDEN_MODULES = {
    "sqlalchemy",
    "litestar",
    "pydantic",
    "pydantic_settings",
    "asyncpg",
    "alembic",
    "advanced_alchemy",
    "httpx",
    "requests",
    "aiosmtplib",
    "socket",
    "ssl",
    "urllib",
    "http",
    "os",
    "io",
    "pathlib",
    "shutil",
    "subprocess",
    "tempfile",
    "sqlite3",
    "random",
    "secrets",
    "uuid",
    "time",
    "asyncio",
    "logging",
    "threading",
    "multiprocessing",
    "apscheduler",
    "notify",
    "intake",
    "samhjelp",
    "pickle",
    "json",
    "csv",
}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "open", "input", "print", "time", "perf_counter"}


def impurities(source: str) -> list[str]:
    """Forbidden imports and calls found in ``source`` (relative imports stay in the core)."""
    found = []
    for kind, name in imports_and_calls(source):
        if kind == "call":
            if name in FORBIDDEN_CALLS:
                found.append(f"call {name}()")
        elif not name.startswith("."):
            if name.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"import {name}")
            if any(name.startswith(x) for x in SHELL_IMPORTS):
                found.append(f"import {name}")
    return found


def core_modules() -> list[Path]:
    return sorted(p for p in CORE.glob("*.py") if p.name not in SHELL)


def test_core_modules_exist() -> None:
    names = {p.name for p in core_modules()}
    assert {"model.py", "algorithm.py", "greedy.py", "explain.py", "exact.py", "check.py"} <= names


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: p.name)
def test_core_module_is_pure(path: Path) -> None:
    assert impurities(path.read_text(encoding="utf-8")) == []


def test_the_purity_check_can_fail() -> None:
    bad = (
        "import sqlalchemy\nfrom litestar import get\nfrom pydantic import BaseModel\n"
        "from matching.service import plan_run\n"
        "import random\nfrom datetime import datetime\nx = datetime.now()\nopen('f')\n"
    )
    assert impurities(bad) == [
        "import sqlalchemy",
        "import litestar",
        "import pydantic",
        "import matching.service",
        "import random",
        "call now()",
        "call open()",
    ]
