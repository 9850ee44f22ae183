"""The exact solver does not silently degrade when HiGHS's per-process scheduler was started by
a solve with other thread settings, and a solver failure is reported, not hidden.

HiGHS keeps one task scheduler per process, so each order runs in a fresh Python process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import highspy
import pytest
from highspy._core import _Highs

from matching import exact
from matching.algorithm import RunStats, form_groups
from matching.context import Context
from matching.greedy import greedy
from matching.model import Candidate, RuleBook
from unit.matching.matching_strategies import NOW, person, starter

BOTH = frozenset({"tue-evening", "wed-evening"})


def instance() -> list[Candidate]:
    """Eight people, one start short of nothing: greedy gives the longest-waiting person (free
    on Tuesday and Wednesday) the bigger Tuesday group and strands the three Wednesday people;
    the optimum puts them in a Wednesday group of four and places all eight."""
    return [
        person("p0", days=60, slots=BOTH),
        *(person(f"t{i}", days=40, slots=frozenset({"tue-evening"})) for i in range(4)),
        *(person(f"w{i}", days=40, slots=frozenset({"wed-evening"})) for i in range(3)),
    ]


FACILITATORS = [starter("f", free=2)]
OPTIMUM = 8
GREEDY = 5

# Run in a fresh interpreter: optionally a solve with other thread settings first, then the
# real form_groups. Prints how many were placed and how many pools fell back to greedy.
_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import highspy
    order, threads = sys.argv[1], int(sys.argv[2])
    if order == "other-first":
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", threads)
        x = h.addVariable(0, 1)
        h.maximize(x)
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    from matching.algorithm import RunStats, form_groups
    from matching.model import RuleBook
    from unit.matching.test_exact_robust import FACILITATORS, NOW, instance
    stats = RunStats()
    plan = form_groups(instance(), RuleBook(), now=NOW, facilitators=FACILITATORS, stats=stats)
    print(json.dumps({"placed": len(plan.placed), "fallbacks": len(stats.exact_fallbacks)}))
    """
)


def _fresh_process(order: str, threads: int = 2) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, order, str(threads)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        # pytest puts tests/ on sys.path; the child imports the instance from there too.
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_instance_needs_the_exact_solver() -> None:
    ctx = Context(instance(), RuleBook(), FACILITATORS, NOW)
    heuristic = greedy(ctx, list(range(len(ctx.cands))), local=True, digital=True)
    assert sum(len(f.members) for f in heuristic) == GREEDY < OPTIMUM


def test_order_a_exact_first_in_a_fresh_process() -> None:
    assert _fresh_process("exact-first") == {"placed": OPTIMUM, "fallbacks": 0}


@pytest.mark.parametrize("threads", [2, 0], ids=["threads=2", "default threads"])
def test_order_b_other_thread_settings_first_in_a_fresh_process(threads: int) -> None:
    # Before the fix this placed 5: HiGHS refused the single-threaded run, and form_groups
    # silently kept the greedy plan.
    assert _fresh_process("other-first", threads) == {"placed": OPTIMUM, "fallbacks": 0}


class _BrokenHighs(_Highs):  # type: ignore[misc]
    """A HiGHS whose every run fails, as a solver error we cannot recover from would."""

    def run(self) -> highspy.HighsStatus:
        return highspy.HighsStatus.kError


def test_a_solver_failure_falls_back_to_greedy_and_is_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resets: list[bool] = []
    monkeypatch.setattr(exact, "_Highs", _BrokenHighs)
    monkeypatch.setattr(exact, "_reset_scheduler", lambda: resets.append(True))
    stats = RunStats()
    plan = form_groups(instance(), RuleBook(), now=NOW, facilitators=FACILITATORS, stats=stats)
    assert len(plan.placed) == GREEDY
    assert resets == [True]  # retried once after a reset before giving up
    [fallback] = stats.exact_fallbacks
    assert fallback.pool_size == len(instance())
    assert "kError" in fallback.reason
    # The reason names solver statuses only, never a person.
    assert not any(c.id in fallback.reason for c in instance())
