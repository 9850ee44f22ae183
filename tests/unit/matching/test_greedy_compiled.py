"""The compiled greedy's plumbing: the size rule and the fallback when no cache folder can be
written. That it forms the same groups as the Python greedy is ``test_scale_greedy.py``."""

from __future__ import annotations

import numba.core.caching
import pytest

from matching import greedy, greedy_pass


def _size_reference(n: int, lo: int, target: int, hi: int) -> int:
    """The size rule as the Python greedy had it (``round`` halves to even)."""
    if n < lo:
        return 0
    if n <= hi:
        return n
    groups = max(-(-n // hi), round(n / target))
    while groups > 1 and n // groups < lo:
        groups -= 1
    return min(hi, -(-n // groups))


def test_the_compiled_size_rule_is_the_python_one() -> None:
    assert hasattr(greedy_pass.size_of, "py_func")  # a Numba dispatcher, not the Python function
    for lo in range(1, 7):
        for target in range(lo, 10):
            for hi in range(target, 13):
                for n in range(0, 60):
                    assert greedy_pass.size_of(n, lo, target, hi) == _size_reference(
                        n, lo, target, hi
                    )


def test_without_a_writable_cache_folder_the_greedy_still_compiles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An install whose folder (and the user's cache folder) cannot be written: Numba finds no
    place for its cache and refuses ``cache=True``; the code is then compiled in the process."""
    caching = numba.core.caching
    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # older Numba
    monkeypatch.setattr(impl, "_locator_classes", [])

    def twice(x: int) -> int:
        return 2 * x

    with pytest.raises(RuntimeError, match="cannot cache"):
        numba.njit(cache=True)(twice)
    compiled = greedy_pass.njit(twice)
    assert compiled(21) == 42


def test_warm_up_loads_the_compiled_pass() -> None:
    greedy.warm_up()
    assert greedy_pass.run_pass.signatures  # compiled (or loaded from the cache) for the real types
