"""The life cycle's functional core stays pure, like the matching core: the typed rows
(groups/model.py), the timing rules (groups/timing.py) and the place rule (groups/compat.py)
use no database, web, validation or I/O library, no clock and no randomness, and import none of
the life cycle's shell modules. Checked by reading each module's syntax tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from unit.matching.test_matching_purity import FORBIDDEN_CALLS, FORBIDDEN_MODULES
from unit.purity import imports_and_calls

GROUPS = Path(__file__).resolve().parents[3] / "src" / "groups"
CORE = ("model.py", "timing.py", "compat.py")
#: The first-party modules the core may import: itself and the pure states and model below it.
ALLOWED = {"groups.model", "groups.timing", "groups.compat", "matching.states", "matching.model"}
FIRST_PARTY = {"groups", "matching"}
#: model.py names ids by their type; it may import uuid but never make one.
MODULES = FORBIDDEN_MODULES - {"uuid"}
CALLS = FORBIDDEN_CALLS | {"uuid1", "uuid4"}


def impurities(source: str) -> list[str]:
    """Forbidden imports and calls found in ``source``."""
    found = []
    for kind, name in imports_and_calls(source):
        if kind == "call":
            if name in CALLS:
                found.append(f"call {name}()")
            continue
        top = name.split(".")[0]
        # A relative import would dodge the first-party check: refuse it outright.
        if top in MODULES or name.startswith(".") or (top in FIRST_PARTY and name not in ALLOWED):
            found.append(f"import {name}")
    return found


@pytest.mark.parametrize("name", CORE)
def test_core_module_is_pure(name: str) -> None:
    assert impurities((GROUPS / name).read_text(encoding="utf-8")) == []


def test_the_purity_check_can_fail() -> None:
    bad = (
        "import uuid\nimport sqlalchemy\nfrom groups import common\nfrom groups.config import X\n"
        "from matching.tables import start_group\nfrom . import tick\nimport logging\n"
        "from datetime import datetime\nx = datetime.now()\ny = uuid.uuid4()\n"
    )
    assert impurities(bad) == [
        "import sqlalchemy",
        "import groups",
        "import groups.config",
        "import matching.tables",
        "import .",
        "import logging",
        "call now()",
        "call uuid4()",
    ]
