"""The JSON nesting limit: refused exactly above MAX_JSON_DEPTH, whether or not the body has
more brackets than that (the bracket count only decides whether the body needs a scan)."""

from __future__ import annotations

import pytest

from samhjelp.strict import MAX_JSON_DEPTH, _body_problem

JSON = "application/json"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH])
def test_nesting_up_to_the_limit_passes(depth: int) -> None:
    body = ("[" * depth + "]" * depth).encode()
    assert _body_problem(body, JSON) is None


def test_one_level_deeper_is_refused() -> None:
    depth = MAX_JSON_DEPTH + 1
    body = ("[" * depth + "]" * depth).encode()
    assert _body_problem(body, JSON) == f"JSON nested deeper than {MAX_JSON_DEPTH} levels"


def test_many_shallow_brackets_pass() -> None:
    # 40 objects in a list: 41 opening brackets, depth 2.
    body = ("[" + ",".join(["{}"] * 40) + "]").encode()
    assert _body_problem(body, JSON) is None


def test_brackets_inside_strings_are_not_nesting() -> None:
    body = ('{"note": "' + "[" * 100 + '"}').encode()
    assert _body_problem(body, JSON) is None
