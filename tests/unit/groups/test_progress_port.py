"""groups.progress answers intake's Progress port with intake's own types."""

from __future__ import annotations

from groups.members import Answer
from intake.progress import AnswerOutcome


def test_every_answer_of_the_life_cycle_is_an_outcome_intake_knows() -> None:
    # GroupProgress converts by value: a new Answer would otherwise fail at run time.
    assert {a.value for a in Answer} <= {o.value for o in AnswerOutcome}
