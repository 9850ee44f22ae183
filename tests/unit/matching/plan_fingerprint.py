"""Fingerprints of ``form_groups`` plans on generated country-wide inputs.

A speed change to the matching core must leave every plan *identical*: same groups in the same
order, same reasons, same suggestions. This script hashes ``repr(plan)`` (groups, reasons and
suggestions) for a fixed set of generated inputs (``bench/matching_scale.py``'s generator) and
compares with ``plan_fingerprints.json`` next to it.

Run: ``.venv/bin/python tests/unit/matching/plan_fingerprint.py [--write] [--only NAME,...]``
(``--write`` records the current plans as the reference; do that only before a change).
``test_matching_fingerprint.py`` runs the small cases in the normal test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import matching_scale as scale  # noqa: E402
from matching.algorithm import form_groups  # noqa: E402
from matching.model import RuleBook, Rules  # noqa: E402

REFERENCE = Path(__file__).with_name("plan_fingerprints.json")

#: name -> (people, seed, free starts per facilitator or None for n // 1000, overrides)
CASES: dict[str, tuple[int, int, int | None, bool]] = {
    "2k": (2_000, 11, None, False),
    "2k-overrides": (2_000, 5, None, True),
    "5k-low": (5_000, 3, 2, False),
    "10k": (10_000, 11, None, False),
    "10k-low": (10_000, 11, 2, False),
    "20k-overrides": (20_000, 7, None, True),
    "30k": (30_000, 11, None, False),
    "60k-low-overrides": (60_000, 13, 2, True),
    "100k": (100_000, 11, None, False),
}

#: Rules for every other organisation in the override cases: smaller and larger groups, other
#: waiting rules, and catchments that keep digital groups to themselves.
_OVERRIDES = (
    Rules(
        min_size=3,
        target_size=5,
        max_size=6,
        max_age_span=10,
        cross_problem_after_days=14,
        min_size_after_days=14,
        pool_digital_across_catchments=False,
    ),
    Rules(
        min_size=5,
        target_size=7,
        max_size=9,
        max_age_span=20,
        cross_problem_after_days=35,
        min_size_after_days=0,
    ),
    Rules(max_age_span=25, cross_problem_after_days=0, pool_digital_across_catchments=False),
)


#: The default rules when the fingerprints were recorded: the cross-problem wait was 21 days
#: (7 since issue 13, chosen with bench/simulate.py). Pinned so the fingerprints keep checking
#: that speed work changes no plan.
RECORDED_DEFAULT = Rules(cross_problem_after_days=21)


def run(name: str) -> str:
    """The fingerprint of one case's plan."""
    n, seed, starts, overrides = CASES[name]
    people, facs = scale.population(n, seed)
    facs = [replace(f, free_starts=starts or max(2, n // 1000)) for f in facs]
    book = RuleBook(RECORDED_DEFAULT)
    if overrides:
        orgs = sorted({p.organisation for p in people})
        book = RuleBook(
            RECORDED_DEFAULT, overrides={o: _OVERRIDES[i % 3] for i, o in enumerate(orgs[::2])}
        )
    random.Random(seed).shuffle(people)
    plan = form_groups(people, book, now=scale.NOW, facilitators=facs)
    digest = hashlib.sha256(repr(plan).encode()).hexdigest()[:16]
    return f"{digest} groups={len(plan.groups)} unplaced={len(plan.unplaced)}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--only", default=",".join(CASES))
    args = ap.parse_args()
    ref = json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {}
    bad = 0
    for name in args.only.split(","):
        t0 = time.process_time()
        got = run(name)
        cpu = time.process_time() - t0
        want = ref.get(name)
        status = "new" if want is None else "same" if want == got else "DIFFERENT"
        bad += status == "DIFFERENT"
        print(f"{name:>18} {got}  {status}  ({cpu:.1f} s cpu)", flush=True)
        if args.write:
            ref[name] = got
    if args.write:
        REFERENCE.write_text(json.dumps(ref, indent=1, sort_keys=True) + "\n")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
