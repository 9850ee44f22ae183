"""Imports run one way (DESIGN.md): samhjelp → staff, statistics → groups → matching, notify →
intake. A lower package that needs an answer from a higher one declares a small protocol
(``intake.progress.Progress``) and the composition root plugs the implementation in.

Checked by reading every module's syntax tree, imports inside functions and under
``TYPE_CHECKING`` included: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

#: Higher layers may import lower ones, never the other way round; packages on one layer
#: (matching and notify, staff and statistics) do not import each other either.
LAYERS: dict[str, int] = {
    "intake": 0,
    "matching": 1,
    "notify": 1,
    "groups": 2,
    "staff": 3,
    "statistics": 3,
    # The statistics package is named figures: a package called statistics would be shadowed
    # by the standard library's module (site-packages and src come after the stdlib on sys.path).
    "figures": 3,
    "samhjelp": 4,
}


def imported_packages(source: str) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return sorted(found)


def upward_imports(package: str, source: str) -> list[str]:
    """Imports in a module of ``package`` that reach its own layer or a higher one."""
    own = LAYERS[package]
    bad = []
    for line, module in imported_packages(source):
        top = module.split(".")[0]
        if top in LAYERS and top != package and LAYERS[top] >= own:
            bad.append(f"line {line}: import {module}")
    return bad


def modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] in LAYERS)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_only_run_downwards(path: Path) -> None:
    package = path.relative_to(SRC).parts[0]
    assert upward_imports(package, path.read_text(encoding="utf-8")) == []


def test_intake_is_the_ground_floor() -> None:
    """The issue's case by name: intake's status page and API asked matching and groups
    directly; now no intake module imports any other package of the service."""
    others = set(LAYERS) - {"intake"}
    for path in sorted((SRC / "intake").rglob("*.py")):
        for line, module in imported_packages(path.read_text(encoding="utf-8")):
            assert module.split(".")[0] not in others, f"{path.relative_to(SRC)}:{line} {module}"


def test_every_layer_is_checked() -> None:
    """A new top-level package must be placed on a layer, or it would escape the check."""
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert packages <= set(LAYERS), packages - set(LAYERS)
    assert {"intake", "matching", "notify", "groups", "samhjelp"} <= packages


def test_the_layer_check_can_fail() -> None:
    """What intake/progress.py looked like before the port: two upward imports, one lazy."""
    before = (
        "from groups import Answer, Lifecycle\n"
        "from intake import interests\n"
        "def f():\n"
        "    from matching.service import waiting_explanation\n"
        "import notify.settings\n"
    )
    assert upward_imports("intake", before) == [
        "line 1: import groups",
        "line 4: import matching.service",
        "line 5: import notify.settings",
    ]
    assert upward_imports("matching", "from notify import enqueue\n") == ["line 1: import notify"]
    assert upward_imports("groups", "from matching.tables import start_group\n") == []
    assert upward_imports("groups", "from samhjelp.settings import Settings\n") != []
