"""The CPU-burning stand-in for ``form_groups`` used by test_matching_offloop.py (no tests here).

It lives in its own module, imported by its plain name (``integration.matching...``, from the
tests directory on ``sys.path``), because the worker process must import it by that name to
unpickle the call; pytest's importlib mode gives test modules names a child cannot import.
"""

from __future__ import annotations

import time
from datetime import datetime

from matching.job import Computed, compute_plan
from matching.service import Inputs

#: CPU seconds burnt: about a 100,000-person run (2.9 s on the loop, per the issue).
BURN_SECONDS = 2.0


def burn_then_compute(inputs: Inputs, now: datetime) -> Computed:
    """The real core after ~2 s of pure-Python work, as a country-wide run would cost: the run
    takes the real off-loop path (inputs pickled, the worker process, the result back)."""
    end = time.process_time() + BURN_SECONDS
    spin = 0
    while time.process_time() < end:
        for i in range(10_000):
            spin += i
    return compute_plan(inputs, now)
