"""The plans of small generated country-wide inputs are exactly the recorded ones.

Speed work on the core must not change any plan; ``plan_fingerprint.py`` (run by hand) checks
the large cases up to 100,000 people against the same reference file.
"""

from __future__ import annotations

import json

import pytest

from unit.matching import plan_fingerprint as fp


@pytest.mark.parametrize("name", ["2k", "2k-overrides"])
def test_plan_is_the_recorded_one(name: str) -> None:
    want = json.loads(fp.REFERENCE.read_text())[name]
    assert fp.run(name) == want
