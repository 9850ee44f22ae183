"""The threshold rule of published figures: counts of 1–4 people are never shown.

It lives in intake, the ground floor, because two places apply it: the referrer's aggregate
outcome (:func:`intake.referrals.outcome`) and the public statistics (package ``figures``,
which imports this module). One rule, one number.

A zero is shown: it names no one. A count of 1–4 could point at a person someone knows ("the
only one from our course who went on"), so it is *primarily* suppressed; when a total and
its parts are shown together, one more part is suppressed with it (*complementary*
suppression), or the hidden one would be the total minus the rest.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Counts below this (and above zero) are suppressed. Norwegian official statistics use 5.
THRESHOLD = 5


def too_small(count: int) -> bool:
    """True for a count that must not be published on its own (1–4 people)."""
    return 0 < count < THRESHOLD


def protect_parts(total: int, parts: Mapping[str, int]) -> dict[str, int | None]:
    """A total and its parts (``total == sum(parts)``) with small counts hidden (``None``).

    Exactly one hidden figure among total and parts would be recoverable by subtraction, so a
    second one is hidden with it: the smallest non-zero part that is still shown (the total
    only when no part qualifies). With two or more hidden figures in the single equation, none
    is determined. Key ``"total"`` in the result is the total.
    """
    if sum(parts.values()) != total:
        raise ValueError("the parts must add up to the total")
    cells = {"total": total, **parts}
    hidden = {k for k, v in cells.items() if too_small(v)}
    if len(hidden) == 1:
        shown = sorted(
            ((v, k) for k, v in parts.items() if k not in hidden and v > 0),
        )
        if shown:
            hidden.add(shown[0][1])
        elif "total" not in hidden:
            hidden.add("total")
    return {k: (None if k in hidden else v) for k, v in cells.items()}
