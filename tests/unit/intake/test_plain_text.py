"""``intake.schemas._plain_text`` lets printable ASCII through without looking at each
character (issue 12: it ran for every e-mail address and phone number of a registration); the
answer must be the one the per-character check gives, for every character it could skip."""

from __future__ import annotations

import unicodedata

import pytest

from intake.schemas import _FORBIDDEN_CATEGORIES, _plain_text


def _by_category(v: str) -> bool:
    return not any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in v)


@pytest.mark.parametrize("code", range(128))
def test_every_ascii_character_as_the_category_check_says(code: int) -> None:
    v = f"kari{chr(code)}@example.no"
    try:
        _plain_text(v)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == _by_category(v)


@pytest.mark.parametrize("v", ["ola\u200b@example.no", "\u202eon.elpmaxe@ako", "åse@example.no"])
def test_beyond_ascii_the_category_check_still_decides(v: str) -> None:
    try:
        _plain_text(v)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == _by_category(v)
