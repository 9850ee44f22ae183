"""What the ranked suggestions (issue 13) find on the generated country-wide population of
``bench/matching_scale.py``: how many of the people left waiting get a suggestion, how many
each, of which kinds, and how often "welcome a digital group" is the only way in.

Run: ``.venv/bin/python bench/suggestions.py [--sizes 10000,100000] [--seed 11]``
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(1, str(HERE))

import matching_scale as scale  # noqa: E402
from matching.algorithm import form_groups  # noqa: E402
from matching.model import RuleBook, SuggestionKind  # noqa: E402

KINDS = tuple(SuggestionKind)


def report(n: int, seed: int) -> None:
    people, facs = scale.population(n, seed)
    facs = [replace(f, free_starts=max(2, n // 1000)) for f in facs]
    plan = form_groups(people, RuleBook(), now=scale.NOW, facilitators=facs)
    t0 = time.process_time()
    waiting = plan.unplaced
    cpu = time.process_time() - t0
    offered = [u for u in waiting if u.suggestions]
    per = Counter(min(len(u.suggestions), 5) for u in offered)
    kinds = Counter(s.kind for u in waiting for s in u.suggestions)
    only_digital = sum(
        1 for u in offered if all(s.kind is SuggestionKind.WELCOME_DIGITAL for s in u.suggestions)
    )
    print(f"{n:,} people, seed {seed}: {len(waiting):,} left waiting, explained in {cpu:.2f} s cpu")
    share = len(offered) / max(len(waiting), 1)
    print(f"  with a suggestion        {len(offered):,} ({share:.0%})")
    print(f"  ... only 'soon' ones     {sum(1 for u in offered if u.suggestion is None):,}")
    print("  per person 1/2/3/4/5+    " + " / ".join(f"{per[k]:,}" for k in range(1, 6)))
    print("  offered " + ", ".join(f"{k.value} {kinds[k]:,}" for k in KINDS))
    print(f"  only a digital group     {only_digital:,}")
    print(f"  more than one way in     {sum(1 for u in offered if len(u.suggestions) > 1):,}")
    print(f"  'soon' suggestions       {sum(s.soon for u in waiting for s in u.suggestions):,}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    for n in (int(x) for x in args.sizes.split(",")):
        report(n, args.seed)


if __name__ == "__main__":
    main()
