"""What a module imports and calls, read from its syntax tree: the purity checks of the
functional cores (matching, groups) judge these with their own rules."""

from __future__ import annotations

import ast
from collections.abc import Iterator


def imports_and_calls(source: str) -> Iterator[tuple[str, str]]:
    """``("import", module)`` and ``("call", function name)`` in syntax-tree order.

    A relative import is named by its dots and module (``.``, ``..x``) so a check can refuse
    it; a call of anything but a name or an attribute has the name ``""``.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield "import", alias.name
        elif isinstance(node, ast.ImportFrom):
            yield "import", "." * node.level + (node.module or "")
        elif isinstance(node, ast.Call):
            f = node.func
            name = (
                f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            )
            yield "call", name
