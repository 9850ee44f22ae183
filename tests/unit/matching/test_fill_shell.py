"""The shell's cut-off for newcomers stays in step with the life cycle's reply margin."""

from __future__ import annotations

from datetime import timedelta

from groups.timing import REPLY_MARGIN
from matching.service import FILL_CLOSES_BEFORE_FIRST_MEETING


def test_a_newcomer_always_has_a_day_to_answer_before_the_reply_margin() -> None:
    assert REPLY_MARGIN + timedelta(days=1) <= FILL_CLOSES_BEFORE_FIRST_MEETING
